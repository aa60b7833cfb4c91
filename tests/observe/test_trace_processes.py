"""Across processes: a durable pause and its resume are two traces joined by a link; and
without a provider (or without OpenTelemetry at all) nothing is imported or recorded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("trace_worker.py")


def run_python(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("LOCUS_TRACE_CONTENT", None)
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def worker(db: Path, mode: str) -> dict[str, Any]:
    out = run_python(str(WORKER), str(db), mode, "ticket-1", str(ROOT)).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def test_durable_pause_and_resume_in_two_processes_are_two_traces_joined_by_a_link(
    tmp_path: Path,
) -> None:
    db = tmp_path / "locus.db"

    paused = worker(db, "start")
    resumed = worker(db, "resume")

    assert paused["paused"] is True
    assert resumed["paused"] is False
    (pause_run,) = paused["runs"]
    (resume_run,) = resumed["runs"]
    assert pause_run["status"] == "paused"
    assert resume_run["status"] == "done"
    assert resume_run["trace_id"] != pause_run["trace_id"]
    assert resume_run["links"] == [
        {"trace_id": pause_run["trace_id"], "span_id": pause_run["span_id"]}
    ]
    (wait,) = resumed["waits"]
    assert wait["count"] == 1
    assert 0 <= wait["sum"] < 60


GRAPH_AND_AGENT = textwrap.dedent(
    """
    import asyncio, sys
    from locus.agent import Agent, AgentConfig
    from locus.core import Command, interrupt
    from locus.multiagent import END, START, StateGraph
    from locus.tools import tool

    @tool
    def lookup(order_id: int) -> str:
        '''Look an order up.

        Args:
            order_id: The order.
        '''
        return "found"

    agent = Agent(config=AgentConfig(agent_id="a", model="mock", tools=[lookup]))

    async def work(state):
        text = (await agent.arun("look up order 7")).text
        return {"text": text, "ok": interrupt({"question": "ok?"})}

    graph = StateGraph("g").add_node("work", work)
    graph.add_edge(START, "work").add_edge("work", END)

    async def main():
        paused = await graph.execute({})
        await graph.execute(Command(update=paused.final_state, resume="yes"))

    asyncio.run(main())
    """
)


def test_without_a_provider_opentelemetry_is_never_imported_even_with_logs_on() -> None:
    code = GRAPH_AND_AGENT + textwrap.dedent(
        """
        import logging
        logging.basicConfig(level=logging.INFO)
        asyncio.run(main())
        loaded = sorted(m for m in sys.modules if m.startswith("opentelemetry"))
        assert not loaded, loaded
        print("clean")
        """
    )
    done = run_python("-c", code)
    assert done.stdout.strip() == "clean"
    assert "paused at node 'work'" in done.stderr
    assert "finished after 1 steps" in done.stderr


def test_without_the_extra_installed_everything_runs() -> None:
    blocker = textwrap.dedent(
        """
        import sys
        class NoOpenTelemetry:
            def find_spec(self, name, path=None, target=None):
                if name == "opentelemetry" or name.startswith("opentelemetry."):
                    raise ModuleNotFoundError(f"No module named {name!r}")
                return None
        sys.meta_path.insert(0, NoOpenTelemetry())
        from locus import observe
        observe.configure(trace_content=True)
        """
    )
    code = blocker + GRAPH_AND_AGENT + "print('ran')\n"
    assert run_python("-c", code).stdout.strip() == "ran"


def test_no_spans_until_a_provider_is_set_then_spans() -> None:
    code = (
        textwrap.dedent(
            """
        import opentelemetry.trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        from locus.observe import hooks
        """
        )
        + GRAPH_AND_AGENT
        + textwrap.dedent(
            """
        assert hooks.active() is None
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        opentelemetry.trace.set_tracer_provider(provider)
        asyncio.run(main())
        print(len(exporter.get_finished_spans()))
        """
        )
    )
    assert int(run_python("-c", code).stdout.strip()) > 0
