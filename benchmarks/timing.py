"""The benchmarks' timer, with no imports beyond the standard library (benchmarks/tick_compare.py
runs it in tick's own Python too)."""

from __future__ import annotations

import time


def per_call(fn, min_time: float = 0.5) -> float:
    """Seconds per call: best of 5 batches, each running at least min_time / 5."""
    fn()
    n, t = 1, 0.0
    while True:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        t = time.perf_counter() - start
        if t > min_time / 5:
            break
        n *= 2
    best = t / n
    for _ in range(4):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - start) / n)
    return best
