"""Serializer cost per checkpoint, without any storage. Not part of the test run.

Run from the repository root:

    python benchmarks/bench_serializer.py [--loops 2000]

Prints microseconds per call (best of several rounds) for
  * encode put: checking and serializing one paused put (``codec.encode_put``) of a typical
    small state, a run record and one pending interrupt, the work every ``put`` does
    before a backend writes;
  * load: restoring that checkpoint from its stored bytes (``codec.materialise``), the work
    every ``get``/``acquire`` does after a backend reads;
  * encode wide / load wide: the same for one state key holding 1,000 small dicts, to show
    the per-value cost of the walk;
  * encode models: a state holding 50 pydantic models with an enum field each.
"""

from __future__ import annotations

import argparse
import enum
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pydantic import BaseModel

from locus.checkpoint.codec import encode_put, materialise
from locus.checkpoint.records import RawCheckpoint


class Level(enum.Enum):
    LOW = "low"
    HIGH = "high"


class Line(BaseModel):
    sku: str
    qty: int
    level: Level


def small_state() -> dict[str, Any]:
    return {
        "messages": [
            {"role": "user", "content": "please review ticket 7"},
            {"role": "assistant", "content": "Drafted a reply; waiting for approval."},
        ],
        "ticket": {"id": 7, "title": "Printer on fire", "tags": ["hw", "urgent"]},
        "step": 1,
        "amount": 120.5,
    }


def run_record() -> dict[str, Any]:
    return {
        "v": 1,
        "graph": "bench",
        "step": 3,
        "frontier": ["approve"],
        "journal": {"approve": [{"key": "model:0", "result": {"text": "ok", "calls": []}}]},
        "answered": [],
    }


PENDING = [{"id": "int-1", "node": "approve", "payload": {"question": "Send this reply?"}}]


def best_us(fn: Callable[[], Any], loops: int, repeats: int = 15) -> float:
    """CPU microseconds per call of ``fn``: the best of ``repeats`` rounds of ``loops`` calls.

    CPU time of this process, so other processes on a busy machine disturb it less.
    """
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        for _ in range(loops):
            fn()
        best = min(best, (time.process_time() - start) / loops)
    return best * 1e6


def encoder(changes: dict[str, Any]) -> Callable[[], Any]:
    return lambda: encode_put("t", changes, "paused", run_record(), PENDING, "bench", None, False)


def loader(changes: dict[str, Any]) -> Callable[[], Any]:
    put = encoder(changes)()
    raw = RawCheckpoint(1, 0.0, "paused", "bench", put.record, dict(put.blobs))
    return lambda: materialise("t", raw)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loops", type=int, default=2000)
    loops = parser.parse_args().loops
    wide = {"rows": [{"id": i, "name": f"row {i}", "ok": True} for i in range(1000)]}
    models = {"lines": [Line(sku=f"s{i}", qty=i, level=Level.HIGH) for i in range(50)]}
    cases = [
        ("encode put", encoder(small_state()), loops),
        ("load", loader(small_state()), loops),
        ("encode wide", encoder(wide), loops // 20),
        ("load wide", loader(wide), loops // 20),
        ("encode models", encoder(models), loops // 10),
        ("load models", loader(models), loops // 10),
    ]
    for name, fn, n in cases:
        print(f"{name:14} {best_us(fn, max(1, n)):9.1f} us")


if __name__ == "__main__":
    main()
