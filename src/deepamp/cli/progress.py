"""Progress bars for work that takes more than a few seconds: on a terminal only, quiet otherwise."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def progress_bar(total: int, what: str) -> Iterator[Callable[[int, int, str], None] | None]:
    """A ``progress(done, total, label)`` callback drawing a bar on a terminal's stderr.

    Yields None (no bar) when stderr is not a terminal, the run is ``--quiet``,
    or there is only one item.
    """
    if total < 2 or not sys.stderr.isatty() or not logging.getLogger("deepamp").isEnabledFor(logging.INFO):
        yield None
        return
    from tqdm import tqdm

    bar = tqdm(total=total, desc=what, unit="", leave=False, file=sys.stderr, dynamic_ncols=True)

    def update(done: int, total_: int, label: str) -> None:
        bar.set_postfix_str(label[-40:], refresh=False)
        bar.update(done - bar.n)

    try:
        yield update
    finally:
        bar.close()
