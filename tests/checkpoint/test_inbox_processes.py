"""The inbox across OS processes sharing one store (SQLite file, PostgreSQL, Redis)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from checkpoint_backends import POSTGRES_DSN, REDIS_URL

WORKER = Path(__file__).with_name("inbox_worker.py")
ROOT = str(Path(__file__).parents[2])


@pytest.fixture(params=["sqlite", "postgres", "redis"])
def store_spec(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A store that several worker processes open by this spec."""
    if request.param == "sqlite":
        yield f"sqlite|{tmp_path / 'desk.db'}"
    elif request.param == "postgres":
        yield f"postgres|{POSTGRES_DSN}|{request.getfixturevalue('pg_schema')}"
    else:
        yield f"redis|{REDIS_URL}|{request.getfixturevalue('redis_prefix')}"


def spawn(spec: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WORKER), spec, *args, ROOT],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def collect(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = await asyncio.to_thread(proc.communicate, timeout=90)
    assert proc.returncode == 0, err
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


async def run(spec: str, *args: str) -> dict[str, Any]:
    return await collect(spawn(spec, *args))


async def test_an_answer_stored_in_one_process_is_resumed_in_another(store_spec: str) -> None:
    iid = (await run(store_spec, "start", "t1", "1"))["interrupt"]
    assert (await run(store_spec, "answer", iid, "yes", "ann", "0")) == {"complete": True}
    done = await run(store_spec, "resume", "t1")
    assert done["state"]["decision"] == "yes"


async def test_two_processes_answering_at_once_record_exactly_one(store_spec: str) -> None:
    iid = (await run(store_spec, "start", "t1", "1"))["interrupt"]
    at = str(time.time() + 2.0)  # both start answering at the same moment
    procs = [
        spawn(store_spec, "answer", iid, value, who, at)
        for value, who in (("yes", "ann"), ("no", "cy"))
    ]
    results = [await collect(p) for p in procs]
    outcomes = sorted(str(r.get("complete", r.get("error"))) for r in results)
    assert outcomes == ["AlreadyAnsweredError", "True"], results
    winner = "yes" if results[0].get("complete") else "no"
    done = await run(store_spec, "resume", "t1")
    assert done["state"]["decision"] == winner


async def test_quorum_two_across_processes(store_spec: str) -> None:
    iid = (await run(store_spec, "start", "t1", "2"))["interrupt"]
    assert await run(store_spec, "answer", iid, "yes", "ann", "0") == {"complete": False}
    again = await run(store_spec, "answer", iid, "yes", "ann", "0")
    assert again["error"] == "AlreadyAnsweredError"
    assert await run(store_spec, "answer", iid, "yes", "cy", "0") == {"complete": True}
    assert (await run(store_spec, "resume", "t1"))["state"]["decision"] == "yes"


async def test_expire_due_from_four_processes_applies_each_timeout_once(store_spec: str) -> None:
    threads = [f"t{i}" for i in range(6)]
    for thread_id in threads:
        await run(store_spec, "start", thread_id, "1")
    at = str(time.time() + 2.5)
    procs = [spawn(store_spec, "expire", at) for _ in range(4)]
    applied = [t for p in procs for t in (await collect(p))["applied"]]
    assert sorted(applied) == threads
    for thread_id in threads:
        assert (await run(store_spec, "resume", thread_id))["state"]["decision"] == "no"
