"""Redis-only behaviour: re-sent scripts, native expiry, and a server that goes away."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aredis
from checkpoint_backends import REDIS_URL, service_missing

from locus.checkpoint import RedisCheckpointer
from locus.checkpoint.codec import encode_put
from locus.core import Command, interrupt
from locus.errors import StoreUnavailableError
from locus.multiagent import END, START, StateGraph


async def test_a_put_sent_twice_is_applied_once(redis_prefix: str) -> None:
    """What a retry after a lost reply does: the write id makes the second send a no-op."""
    async with RedisCheckpointer(REDIS_URL, prefix=redis_prefix) as cp:
        await cp.acquire("t", "w1", lease_seconds=30)
        put = encode_put("t", {"a": 1}, "paused", {}, [], "g", None, False)
        assert await cp._put("t", "w1", put) == 1
        assert await cp._put("t", "w1", put) == 1
        assert [c.seq for c in await cp.history("t")] == [1]


async def test_finished_thread_keys_carry_a_native_expiry(redis_prefix: str) -> None:
    async with RedisCheckpointer(REDIS_URL, prefix=redis_prefix, ttl_seconds=60) as cp:
        await cp.acquire("t", "w1", lease_seconds=30)
        await cp.put("t", "w1", changes={"a": 1}, status="done", run={}, pending=[], graph="g")
        client = aredis.Redis.from_url(REDIS_URL)
        try:
            for kind in ("t", "c", "b"):
                ttl = await client.pttl(f"{redis_prefix}{kind}:t")
                assert 0 < ttl <= 60_000, kind
            await cp.put(
                "t", "w1", changes={"a": 2}, status="running", run={}, pending=[], graph="g"
            )
            assert await client.pttl(f"{redis_prefix}t:t") == -1
        finally:
            await client.aclose()


class RedisServer:
    """A redis-server of the test's own on a free port, which the test stops and restarts.

    Stopping saves the data set (``SHUTDOWN SAVE``) and starting loads it again, so a restart
    keeps every thread, as a server with persistence would.
    """

    def __init__(self, directory: Path) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.directory = directory
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
        )
        for _ in range(500):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.01)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        assert self.process is not None
        subprocess.run(
            ["redis-cli", "-p", str(self.port), "shutdown", "save"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        self.process.wait(timeout=10)
        self.process = None


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        service_missing("redis-server is not installed")
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        if server.process is not None:
            server.process.kill()
            server.process.wait()


def approval_graph(cp: RedisCheckpointer) -> StateGraph:
    graph = StateGraph("approvals", checkpointer=cp)
    graph.add_node("ask", lambda s: {"answer": interrupt("ok?")})
    graph.add_node("act", lambda s: {"done": s["answer"]})
    graph.add_edge(START, "ask").add_edge("ask", "act").add_edge("act", END)
    return graph


async def test_a_resume_after_a_server_restart_reconnects(own_redis: RedisServer) -> None:
    async with RedisCheckpointer(own_redis.url) as cp:
        graph = approval_graph(cp)
        assert (await graph.execute({}, thread_id="t")).is_interrupted
        own_redis.stop()
        own_redis.start()
        done = await graph.execute(Command(resume="yes"), thread_id="t")
        assert done.final_state == {"answer": "yes", "done": "yes"}


async def test_a_step_saved_during_a_short_outage_is_saved_once_the_server_is_back(
    own_redis: RedisServer,
) -> None:
    async with RedisCheckpointer(own_redis.url) as cp:
        graph = StateGraph("outage", checkpointer=cp)

        def work(state: dict[str, Any]) -> dict[str, Any]:
            own_redis.stop()  # the server goes away while this step's result is saved
            threading.Timer(1.0, own_redis.start).start()
            return {"worked": True}

        graph.add_node("work", work).add_node("after", lambda s: {"after": True})
        graph.add_edge(START, "work").add_edge("work", "after").add_edge("after", END)
        done = await graph.execute({}, thread_id="t")
        assert done.final_state == {"worked": True, "after": True}
        state = await graph.get_state("t")
        assert state.status == "done"


async def test_the_lease_heartbeat_survives_a_short_outage(own_redis: RedisServer) -> None:
    # A 3 s lease renewed every second; the server is away for 1.6 s, and the node then
    # runs past the lease: the step's put only succeeds if the heartbeat kept going through
    # the outage and renewed the lease once the server was back. A short reconnect budget
    # makes the renewal due during the outage fail outright.
    async with RedisCheckpointer(own_redis.url, reconnect_seconds=0.2) as cp:
        graph = StateGraph("slow", checkpointer=cp)
        graph.config.lease_seconds = 3

        async def slow(state: dict[str, Any]) -> dict[str, Any]:
            own_redis.stop()
            await asyncio.sleep(1.6)
            own_redis.start()
            await asyncio.sleep(2.5)
            return {"slow": True}

        graph.add_node("slow", slow).add_edge(START, "slow").add_edge("slow", END)
        done = await graph.execute({}, thread_id="t")
        assert done.final_state == {"slow": True}


async def test_a_server_away_for_longer_than_the_budget_is_store_unavailable(
    own_redis: RedisServer,
) -> None:
    async with RedisCheckpointer(own_redis.url, reconnect_seconds=0.5) as cp:
        await cp.setup()
        own_redis.stop()
        with pytest.raises(StoreUnavailableError, match=str(own_redis.port)):
            await cp.get("t")


async def test_pipelined_puts_sent_while_the_server_restarts_are_each_saved_once(
    own_redis: RedisServer,
) -> None:
    """A pipeline lost with its connection leaves each call to run alone, which reconnects."""
    async with RedisCheckpointer(own_redis.url) as cp:
        ids = [f"t{i}" for i in range(10)]
        await asyncio.gather(*(cp.acquire(tid, "w1", lease_seconds=30) for tid in ids))
        own_redis.stop()
        threading.Timer(0.5, own_redis.start).start()
        seqs = await asyncio.gather(
            *(
                cp.put(
                    tid, "w1", changes={"a": tid}, status="running", run={}, pending=[], graph="g"
                )
                for tid in ids
            )
        )
        assert seqs == [1] * 10
        for tid in ids:
            assert [c.values for c in await cp.history(tid)] == [{"a": tid}]
