"""Benchmarks on real data: ``python -m benchmarks`` (or ``python -m geodata bench`` from a checkout) prints timings, sizes and peak memory.

Each area has a module here exposing ``rows(ctx) -> list[Row]``; :data:`AREAS` lists them.
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

#: Benchmark modules, in the order printed; a module that does not exist yet is skipped.
AREAS = ("reference", "geocoding", "maps", "coverage", "export", "report")

#: Real data shipped beside the repository (read in place, never copied).
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@dataclass
class Row:
    area: str
    name: str
    value: str
    target: str = ""
    note: str = ""


def measure(fn, *args, repeat: int = 1, **kwargs):
    """Run ``fn`` and return (result, best seconds, peak MiB of Python allocations during the first run)."""
    gc.collect()
    tracemalloc.start()
    t0 = time.perf_counter()
    result = fn(*args, **kwargs)
    best = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    for _ in range(repeat - 1):
        t0 = time.perf_counter()
        fn(*args, **kwargs)
        best = min(best, time.perf_counter() - t0)
    return result, best, peak / 2**20


def fmt_s(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def fmt_bytes(n: float) -> str:
    return f"{n / 2**20:.2f} MiB" if n >= 2**20 else f"{n / 1024:.0f} KiB"


def print_table(rows: list[Row]) -> None:
    headers = ("domaine", "mesure", "valeur", "cible", "remarque")
    data = [(r.area, r.name, r.value, r.target, r.note) for r in rows]
    widths = [max(len(h), *(len(d[i]) for d in data)) if data else len(h) for i, h in enumerate(headers)]
    line = " | ".join(h.ljust(w) for h, w in zip(headers, widths))
    print(line)
    print("-+-".join("-" * w for w in widths))
    for d in data:
        print(" | ".join(v.ljust(w) for v, w in zip(d, widths)))
