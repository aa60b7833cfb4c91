"""Agents using the tools of a real MCP server (a subprocess over stdio, or HTTP)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any

import pytest

from locus.agent import Agent
from locus.core import Command
from locus.core.events import ToolResultEvent
from locus.errors import ConfigurationError, MCPError, ToolDefinitionError
from locus.mcp import MCPServer, MCPTool
from locus.mcp.connection import open_toolset
from locus.models import MockModel
from locus.models.mock import tool_call
from locus.multiagent import END, START, StateGraph
from locus.tools import tool

from .conftest import NotesLog


def graph_for(agent: Agent) -> StateGraph:
    async def work(state: dict[str, Any]) -> dict[str, Any]:
        result = await agent.arun(state["request"])
        return {"reply": result.text}

    graph = StateGraph("notes")
    graph.add_node("work", work)
    graph.add_edge(START, "work").add_edge("work", END)
    return graph


async def test_tools_come_with_the_servers_schemas_and_annotations(
    notes_server: Callable[..., MCPServer],
) -> None:
    toolset = await open_toolset("a", [notes_server()], {})
    try:
        tools = toolset.tools
        assert sorted(tools) == ["append_note", "broken", "delete_note", "read_note"]
        read = tools["read_note"]
        assert isinstance(read, MCPTool)
        assert read.description.startswith("Read one note.")
        assert read.parameters["properties"]["name"]["type"] == "string"
        assert read.parameters["required"] == ["name"]
        assert read.annotations == {"readOnlyHint": True}
        assert [spec.name for spec in toolset.specs] == list(tools)
    finally:
        await toolset.aclose()


async def test_destructive_tool_pauses_for_approval_and_read_only_tool_does_not(
    notes_server: Callable[..., MCPServer], notes_log: NotesLog
) -> None:
    model = MockModel(
        script=[
            tool_call("read_note", name="todo"),
            tool_call("delete_note", name="todo"),
            "Read it, then deleted it.",
        ]
    )
    agent = Agent(model=model, mcp_servers=[notes_server()])

    paused = await graph_for(agent).execute({"request": "read then delete todo"})

    assert paused.interrupt is not None
    payload = paused.interrupt.interrupt.payload
    assert payload["type"] == "tool_approval"
    assert payload["tool"] == "delete_note"
    assert payload["arguments"] == {"name": "todo"}
    assert notes_log.calls() == [("read_note", "todo")]

    stored = json.loads(json.dumps(paused.final_state))
    done = await graph_for(agent).execute(Command(update=stored, resume="approve"))

    assert done.final_state["reply"] == "Read it, then deleted it."
    # each tool ran once: the re-run node replayed read_note from its journal
    assert notes_log.calls() == [("read_note", "todo"), ("delete_note", "todo")]
    assert len(model.requests) == 3


async def test_a_tool_without_annotations_needs_approval_by_default(
    notes_server: Callable[..., MCPServer], notes_log: NotesLog
) -> None:
    model = MockModel(script=[tool_call("append_note", name="todo", text=", eggs")])
    agent = Agent(model=model, mcp_servers=[notes_server()])

    paused = await graph_for(agent).execute({"request": "add eggs"})

    assert paused.interrupt is not None
    assert paused.interrupt.interrupt.payload["tool"] == "append_note"
    assert notes_log.calls() == []


@pytest.mark.parametrize(
    ("rule", "asked"),
    [
        (False, []),
        (True, ["read_note", "delete_note"]),
        (["read_note"], ["read_note"]),
        (lambda tool, args: tool.remote_name == "delete_note" and args["name"] == "todo", []),
    ],
    ids=["never", "always", "listed", "predicate"],
)
async def test_requires_approval_on_the_server_overrides_the_annotations(
    notes_server: Callable[..., MCPServer], rule: Any, asked: list[str]
) -> None:
    both = [tool_call("read_note", name="ideas"), tool_call("delete_note", name="ideas")]
    model = MockModel(script=[both, "done"])
    agent = Agent(model=model, mcp_servers=[notes_server(requires_approval=rule)])

    result = await graph_for(agent).execute({"request": "go"})

    pending = [i.interrupt.payload["tool"] for i in result.interrupts] if result.interrupt else []
    assert pending == asked


async def test_a_failing_tool_is_reported_to_the_model_as_an_error(
    notes_server: Callable[..., MCPServer],
) -> None:
    model = MockModel(script=[tool_call("broken", name="todo"), "It failed."])
    agent = Agent(model=model, mcp_servers=[notes_server()])

    result = await agent.arun("try broken")

    [outcome] = [e for e in result.events if isinstance(e, ToolResultEvent)]
    assert outcome.is_error is True
    assert "the disk holding todo is on fire" in outcome.content
    assert "'notes'" in outcome.content


async def test_the_server_process_ends_with_the_run(
    notes_server: Callable[..., MCPServer], notes_log: NotesLog
) -> None:
    model = MockModel(script=[tool_call("read_note", name="todo"), "buy milk"])
    agent = Agent(model=model, mcp_servers=[notes_server()])

    await agent.arun("read todo")

    [pid] = notes_log.pids()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


async def test_a_server_reached_over_http_on_loopback(
    http_notes_url: str, notes_log: NotesLog
) -> None:
    model = MockModel(script=[tool_call("read_note", name="ideas"), "Found it."])
    agent = Agent(
        model=model,
        mcp_servers=[MCPServer.http(http_notes_url, headers={"x-test": "1"}, name="notes")],
    )

    result = await agent.arun("read ideas")

    [outcome] = [e for e in result.events if isinstance(e, ToolResultEvent)]
    assert outcome.content == "a robot that waters plants"
    assert notes_log.calls() == [("read_note", "ideas")]
    assert [spec.name for spec in model.requests[0].tools] == [
        "read_note",
        "delete_note",
        "append_note",
        "broken",
    ]


async def test_a_server_that_cannot_start_fails_the_run_naming_it() -> None:
    server = MCPServer.stdio(sys.executable, ["-c", "import sys; sys.exit(3)"], name="dead")
    agent = Agent(model="mock", mcp_servers=[server])

    with pytest.raises(MCPError, match="MCP server 'dead'"):
        await agent.arun("hi")


async def test_a_tool_name_taken_twice_is_refused_and_a_prefix_fixes_it(
    notes_server: Callable[..., MCPServer],
) -> None:
    @tool
    def read_note(name: str) -> str:
        """A local tool with the server's tool name."""
        return name

    clash = Agent(model="mock", tools=[read_note], mcp_servers=[notes_server()])
    with pytest.raises(ToolDefinitionError, match="prefix="):
        await clash.arun("hi")

    model = MockModel(script=[tool_call("notes_read_note", name="todo"), "ok"])
    fixed = Agent(model=model, tools=[read_note], mcp_servers=[notes_server(prefix="notes_")])
    result = await fixed.arun("hi")

    [outcome] = [e for e in result.events if isinstance(e, ToolResultEvent)]
    assert outcome.content == "buy milk"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: MCPServer.stdio(""), "needs a command"),
        (lambda: MCPServer.http("localhost:8000"), "http:// or https://"),
        (lambda: MCPServer.stdio("python", "server.py"), "args must be a list"),
        (lambda: MCPServer.stdio("python", requires_approval="delete"), "requires_approval"),
        (lambda: MCPServer.stdio("python", timeout=0), "timeout"),
    ],
)
def test_bad_server_settings_are_configuration_errors(make: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        make()


def test_mcp_servers_must_be_mcp_server_objects() -> None:
    with pytest.raises(ConfigurationError, match="mcp_servers"):
        Agent(model="mock", mcp_servers=["python server.py"])


async def test_outside_a_graph_a_destructive_tool_stops_the_run_and_resume_runs_it_once(
    notes_server: Callable[..., MCPServer], notes_log: NotesLog
) -> None:
    model = MockModel(
        script=[[tool_call("read_note", name="todo"), tool_call("delete_note", name="todo")], "ok"]
    )
    agent = Agent(model=model, mcp_servers=[notes_server()])

    paused = await agent.arun("read then delete todo")

    [pending] = paused.pending_approvals
    assert pending.tool == "delete_note"
    assert notes_log.calls() == []
    assert paused.state is not None
    done = await agent.resume(paused.state.to_json(), approvals={pending.call_id: True})

    assert done.text == "ok"
    # the turn's two tools run concurrently: compare without order
    assert sorted(notes_log.calls()) == [("delete_note", "todo"), ("read_note", "todo")]
    assert len(notes_log.pids()) == 2  # each run started its own server and closed it


def test_agents_without_mcp_servers_never_import_the_mcp_sdk() -> None:
    import subprocess
    from pathlib import Path

    code = (
        "import sys\n"
        "from locus.agent import Agent\n"
        "from locus.mcp import MCPServer\n"
        "MCPServer.stdio('python', ['server.py'])\n"
        "assert Agent(model='mock').run_sync('hi').text\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'mcp', 'mcp_types'}))\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(root)},
    )

    assert done.stdout.strip() == "[]"
