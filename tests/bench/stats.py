"""Small helpers to summarise and print benchmark figures."""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) with linear interpolation between ranks."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: Sequence[float]) -> float:
    """The median (NaN for no values)."""
    return statistics.median(values) if values else float("nan")


def ms(seconds: float) -> str:
    """Seconds as a right-aligned millisecond figure."""
    return f"{seconds * 1000:8.2f} ms"


def verdict(name: str, ok: bool, detail: str) -> str:
    """One PASS/MISS line for a target."""
    return f"{'PASS' if ok else 'MISS'}  {name}: {detail}"


def heading(title: str) -> None:
    """Print a section heading."""
    print(f"\n== {title} " + "=" * max(0, 72 - len(title)), flush=True)
