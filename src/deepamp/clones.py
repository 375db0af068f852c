"""Variants linked in cis, grouped into clones (union-find), for phasing and ranking."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import TypeVar

T = TypeVar("T", bound=Hashable)


def cis_groups(items: Sequence[T], linked: Iterable[tuple[T, T]]) -> list[list[T]]:
    """Connected groups of ``items`` under the ``linked`` pairs (transitively).

    Groups come in the order of their first item, each group's items in input
    order; an item linked to nothing is a group of its own.
    """
    parent = {x: x for x in items}

    def find(x: T) -> T:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in linked:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[rb] = ra
    groups: dict[T, list[T]] = {}
    for x in items:
        groups.setdefault(find(x), []).append(x)
    return list(groups.values())
