"""The interval the report shows around a VAF: the Wilson score interval of a binomial proportion."""

from __future__ import annotations

import math

__all__ = ["Z95", "wilson_interval"]

#: Two-sided 95% normal quantile.
Z95 = 1.959963984540054


def wilson_interval(alt: int, depth: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of the proportion ``alt / depth``.

    Parameters
    ----------
    alt : alt observations (0 <= alt <= depth)
    depth : observations
    z : normal quantile (default: 95% two-sided)

    Returns
    -------
    (low, high) in [0, 1]; ``(0, 1)`` when ``depth`` is 0.
    """
    if depth <= 0:
        return 0.0, 1.0
    p = alt / depth
    denom = 1.0 + z * z / depth
    centre = (p + z * z / (2 * depth)) / denom
    half = z * math.sqrt(p * (1 - p) / depth + z * z / (4 * depth * depth)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)
