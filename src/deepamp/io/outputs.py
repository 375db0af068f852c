"""Output files that appear complete or not at all, and never destroy anything else.

Every output goes through :func:`staged`: the writer fills a temporary file and
only when all of it succeeded does it become the output.

* A **regular file** (or a new path) is written to a hidden temporary file in
  the target's directory and renamed over it (atomic).
* A **symlink** is followed: the file it points to is replaced atomically in
  its own directory; the link stays a link.
* **Special files** (``/dev/stdout``, ``/dev/null``, a FIFO, a terminal) and
  ``-`` (standard output) are written through at the end, never replaced.
* A **group** of outputs (a ``.vcf.gz`` and its ``.tbi``; the three files of
  ``deepamp annotate``) is committed together: the old files of the group
  after the first are removed before the first is renamed, so an interrupted
  commit can leave a file missing but never a new file next to a stale
  partner (a new index with an old VCF).

On any exception (also KeyboardInterrupt, which the CLI makes of SIGTERM) the
temporary files are removed, and the removal finishes even when a second
interrupt lands in it.  :func:`work_directory` does the same for a scratch
directory.  A full disk, a quota or a read-only file system while writing
becomes one :class:`~deepamp.errors.OutputError` line.
:func:`check_distinct` refuses an output that would overwrite an input.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence

from deepamp.errors import OutputError

__all__ = ["check_writable", "check_distinct", "staged", "work_directory", "output_text", "output_bytes",
           "is_stdout", "clean_up"]

#: Errors of the file system being written, reported as OutputError.
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO}


def is_stdout(path: str | os.PathLike[str]) -> bool:
    """``-`` means standard output."""
    return os.fspath(path) == "-"


def _is_special(path: str) -> bool:
    """An existing non-regular file (device, FIFO, socket), after following links."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def _target(path: str) -> str:
    """The file that writing ``path`` changes: a symlink's final target."""
    return os.path.realpath(path) if os.path.islink(path) else path


def check_writable(path: str | os.PathLike[str]) -> str:
    """Fail early (before any work) if ``path`` cannot be written.

    Raises
    ------
    OutputError
        The path is a directory, its directory does not exist or is not
        writable, or a special file cannot be opened for writing.
    """
    path = os.fspath(path)
    if is_stdout(path):
        return path
    if not path:
        raise OutputError("empty output path")
    target = _target(path)
    if os.path.isdir(target):
        raise OutputError(f"{path}: output path is a directory")
    if _is_special(target):
        if not os.access(target, os.W_OK):
            raise OutputError(f"{path}: cannot write to this special file (permission denied)")
        return path
    directory = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(directory):
        raise OutputError(f"{path}: output directory {directory} does not exist")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise OutputError(f"{path}: output directory {directory} is not writable")
    return path


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def check_distinct(outputs: Iterable[str | os.PathLike[str] | None],
                   inputs: Iterable[str | os.PathLike[str] | None]) -> None:
    """Refuse (before any work) an output that is one of the inputs, or two outputs that are one file.

    Special files and ``-`` are never inputs' copies and are skipped.

    Raises
    ------
    OutputError
        ``<output>: would overwrite the input <input>`` / ``is given for two outputs``.
    """
    ins = [os.fspath(i) for i in inputs if i is not None and not is_stdout(i)]
    outs = [os.fspath(o) for o in outputs if o is not None and not is_stdout(o)]
    for i, a in enumerate(outs):
        if any(os.path.abspath(_target(a)) == os.path.abspath(_target(b)) for b in outs[:i]):
            raise OutputError(f"{a}: is given for two outputs")
    for out in outputs:
        if out is None or is_stdout(out) or _is_special(_target(os.fspath(out))):
            continue
        out = os.fspath(out)
        for i in ins:
            if _same_file(out, i):
                raise OutputError(f"{out}: output would overwrite the input {i}")


class _Staged:
    """One output being written: its final path, what to replace and the temporary file.

    The temporary file's name is chosen before the file is made (:meth:`create`), so whoever holds
    the object can always remove it, whenever an interrupt lands."""

    def __init__(self, final: str, suffix: str):
        self.final = check_writable(final)
        self.through = is_stdout(final) or _is_special(_target(final))
        self.target = _target(final)
        self.directory = tempfile.gettempdir() if self.through else os.path.dirname(os.path.abspath(self.target))
        self.base = "stdout" if is_stdout(final) else os.path.basename(self.target)
        self.suffix = suffix
        self.tmp = self._name()

    def _name(self) -> str:
        return os.path.join(self.directory, f".{self.base}.{secrets.token_hex(4)}.tmp{self.suffix}")

    def create(self) -> None:
        """Make the (empty) temporary file, with the mode a new output gets (0666 less the umask)."""
        while True:
            try:
                os.close(os.open(self.tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
                return
            except FileExistsError:
                self.tmp = self._name()
            except OSError as exc:
                raise OutputError(f"{self.final}: cannot write in {self.directory} ({exc.strerror})") from None

    def remove_stale(self) -> None:
        if not self.through and os.path.lexists(self.target):
            os.unlink(self.target)

    def commit(self) -> None:
        if not self.through:
            os.replace(self.tmp, self.target)
            return
        try:
            with open(self.tmp, "rb") as src:
                if is_stdout(self.final):
                    sys.stdout.flush()
                    shutil.copyfileobj(src, sys.stdout.buffer)
                    sys.stdout.buffer.flush()
                else:
                    with open(self.target, "wb") as dst:
                        shutil.copyfileobj(src, dst)
        finally:
            os.unlink(self.tmp)

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self.tmp)


@contextlib.contextmanager
def staged(*paths: str | os.PathLike[str], suffixes: Sequence[str] | None = None) -> Iterator[list[str]]:
    """Temporary file names for ``paths``; on success they become those outputs, in order.

    ``suffixes`` keeps an extension a writer looks at (``.vcf.gz``, ``.bam``).

    Raises
    ------
    OutputError
        An output cannot be written, or the file system failed while writing
        (disk full, quota, read-only); nothing is left behind.
    """
    finals = [os.fspath(p) for p in paths]
    items: list[_Staged] = []
    try:
        for i, p in enumerate(finals):
            items.append(_Staged(p, suffixes[i] if suffixes else ""))
            items[-1].create()            # named first: an interrupt at any moment leaves nothing behind
        yield [it.tmp for it in items]
        for it in items[1:]:
            it.remove_stale()
        for it in items:
            it.commit()
    except OSError as exc:
        clean_up(*(it.discard for it in items))
        if exc.errno in _WRITE_ERRNOS:
            raise OutputError(f"{finals[0]}: cannot write ({os.strerror(exc.errno)})") from None
        raise
    except BaseException:
        clean_up(*(it.discard for it in items))
        raise


#: how often a clean-up step is tried again when an interrupt lands in it
_CLEANUP_TRIES = 5


def clean_up(*steps: Callable[[], None]) -> None:
    """Run every (idempotent) clean-up step to its end, even when an exception (a second Ctrl-C)
    lands in one: that step is run again, the others still run, and the first such exception is
    raised once all are done."""
    pending: BaseException | None = None
    for step in steps:
        for _ in range(_CLEANUP_TRIES):
            try:
                step()
                break
            except BaseException as exc:
                pending = pending or exc
    if pending is not None:
        raise pending


@contextlib.contextmanager
def work_directory(beside: str | os.PathLike[str], tag: str = "work", mode: int = 0o700) -> Iterator[str]:
    """A new directory next to ``beside`` (same file system: results move out by rename), removed
    with what is left in it however the block ends, an interrupt included.  ``mode`` (less the
    umask, applied by the kernel): private by default; 0o777 for a directory that becomes an output.

    Its name is chosen before it is made, and its removal is finished by :func:`clean_up`, so an
    interrupt at any moment leaves nothing behind (``tempfile.TemporaryDirectory`` leaves its
    directory when interrupted between making it and registering its clean-up, or while removing it).

    Raises
    ------
    OutputError
        The directory cannot be made.
    """
    parent = os.path.dirname(os.path.abspath(os.fspath(beside)))
    base = os.path.basename(os.path.abspath(os.fspath(beside)))
    path = os.path.join(parent, f".{base}.{secrets.token_hex(4)}.{tag}")
    try:
        while True:
            try:
                os.mkdir(path, mode)
                break
            except FileExistsError:             # not ours: another name, and leave that one alone
                path = os.path.join(parent, f".{base}.{secrets.token_hex(4)}.{tag}")
            except OSError as exc:
                raise OutputError(f"{beside}: cannot write in {parent} ({exc.strerror})") from None
        yield path
    finally:
        clean_up(lambda: shutil.rmtree(path, ignore_errors=True))


def output_text(path: str | os.PathLike[str], text: str | Iterable[str], encoding: str = "utf-8") -> None:
    """Write ``text`` (a string or an iterable of strings) to ``path`` through :func:`staged`."""
    with staged(path) as (tmp,), open(tmp, "w", encoding=encoding, newline="") as fh:
        if isinstance(text, str):
            fh.write(text)
        else:
            fh.writelines(text)


def output_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` through :func:`staged`."""
    with staged(path) as (tmp,), open(tmp, "wb") as fh:
        fh.write(data)
