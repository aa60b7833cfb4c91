"""Bad input gets a specific error naming what is wrong, and never a silent restart."""

from __future__ import annotations

from typing import Any

import pytest

from locus.core import Command, interrupt
from locus.errors import (
    AmbiguousResumeError,
    ConfigurationError,
    GraphDefinitionError,
    GraphRecursionError,
    InvalidInputError,
    InvalidNodeOutputError,
    LocusError,
    MissingResumeError,
    NodeExecutionError,
    NothingToResumeError,
    ReducerError,
    ResumeTargetError,
    SchemaVersionError,
    SyncInEventLoopError,
    UnknownInterruptError,
)
from locus.multiagent import END, START, StateGraph
from locus.multiagent.run_state import PAUSE_KEY


def asking_graph() -> StateGraph:
    graph = StateGraph("asking")
    graph.add_node("ask", lambda s: {"answer": interrupt("?")})
    graph.add_edge(START, "ask").add_edge("ask", END)
    return graph


async def test_resume_without_a_snapshot_is_an_error_not_a_restart() -> None:
    ran: list[str] = []
    graph = StateGraph()
    graph.add_node("n", lambda s: ran.append("n"))
    graph.add_edge(START, "n").add_edge("n", END)
    with pytest.raises(NothingToResumeError, match="nothing is paused"):
        await graph.execute(Command(resume="yes"))
    with pytest.raises(NothingToResumeError):
        await graph.execute(Command(update={"some": "state"}, resume="yes"))
    assert ran == []


async def test_resume_of_a_finished_run_snapshot_is_an_error() -> None:
    graph = asking_graph()
    paused = await graph.execute({})
    done = await graph.execute(Command(update=paused.final_state, resume=1))
    assert PAUSE_KEY not in done.final_state
    with pytest.raises(NothingToResumeError):
        await graph.execute(Command(update=done.final_state, resume=2))


async def test_unknown_interrupt_id_is_named() -> None:
    paused = await asking_graph().execute({})
    with pytest.raises(UnknownInterruptError, match="'nope'"):
        await asking_graph().execute(Command(update=paused.final_state, resume_by_id={"nope": "x"}))


async def test_resume_naming_a_node_the_graph_lacks() -> None:
    paused = await asking_graph().execute({})
    other = StateGraph("asking")
    other.add_node("different", lambda s: None)
    other.add_edge(START, "different").add_edge("different", END)
    with pytest.raises(ResumeTargetError, match="'ask'"):
        await other.execute(Command(update=paused.final_state, resume="x"))
    with pytest.raises(ResumeTargetError, match="'elsewhere'"):
        await asking_graph().execute(Command(update=paused.final_state, goto="elsewhere"))


async def test_plain_value_with_several_pending_interrupts_is_ambiguous() -> None:
    graph = StateGraph()
    graph.add_node("a", lambda s: {"a": interrupt("a?")})
    graph.add_node("b", lambda s: {"b": interrupt("b?")})
    graph.add_edge(START, "a").add_edge(START, "b").add_edge("a", END).add_edge("b", END)
    paused = await graph.execute({})
    with pytest.raises(AmbiguousResumeError, match="resume_by_id"):
        await graph.execute(Command(update=paused.final_state, resume="x"))


async def test_resume_without_an_answer_names_the_pending_node() -> None:
    paused = await asking_graph().execute({})
    with pytest.raises(MissingResumeError, match="'ask'"):
        await asking_graph().execute(Command(update=paused.final_state))


async def test_snapshot_passed_as_plain_inputs_is_refused() -> None:
    paused = await asking_graph().execute({})
    with pytest.raises(InvalidInputError, match="Command"):
        await asking_graph().execute(paused.final_state)


async def test_inputs_of_the_wrong_type_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="list"):
        await asking_graph().execute([1, 2])  # type: ignore[arg-type]


async def test_malformed_snapshot_marker_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="malformed"):
        await asking_graph().execute(Command(update={PAUSE_KEY: {"version": 1}}, resume=1))


async def test_snapshot_of_another_marker_version_is_a_schema_version_error() -> None:
    ran: list[str] = []
    graph = StateGraph("asking")
    graph.add_node("ask", lambda s: ran.append("ask") or {"answer": interrupt("?")})
    graph.add_edge(START, "ask").add_edge("ask", END)
    paused = await graph.execute({"ticket": "T-1"})
    ran.clear()
    snapshot = dict(paused.final_state)
    snapshot[PAUSE_KEY] = {**snapshot[PAUSE_KEY], "version": 99}
    with pytest.raises(SchemaVersionError, match=r"snapshot's '_locus_pause' entry.*version 99"):
        await graph.execute(Command(update=snapshot, resume=1))
    assert ran == []


async def test_reducer_that_raises_is_a_reducer_error_naming_key_and_node() -> None:
    def concat(old: list[str], new: list[str]) -> list[str]:
        return old + new  # a str from a node makes this raise TypeError

    graph = StateGraph("tags", reducers={"tags": concat})
    graph.add_node("a", lambda s: {"tags": ["a"], "seen_a": True})
    graph.add_node("b", lambda s: {"tags": "b"})
    graph.add_edge(START, "a").add_edge(START, "b").add_edge("a", END).add_edge("b", END)
    with pytest.raises(ReducerError, match=r"key 'tags'.*node 'b'") as info:
        await graph.execute({"tags": ["start"]})
    assert info.value.node == "b"
    assert info.value.state == {"tags": ["start"]}  # nothing of the failed step applied
    assert isinstance(info.value.__cause__, TypeError)


def test_checkpointer_that_is_not_a_checkpointer_is_refused_at_construction() -> None:
    with pytest.raises(ConfigurationError, match=r"checkpointer=.*got int 42"):
        StateGraph("g", checkpointer=42)  # type: ignore[arg-type]
    graph = StateGraph("g")
    graph.add_node("a", lambda s: None).add_edge(START, "a").add_edge("a", END)
    with pytest.raises(ConfigurationError, match=r"checkpointer=.*got str"):
        graph.compile(checkpointer="locus.db")  # type: ignore[arg-type]
    assert graph.checkpointer is None


async def test_checkpointer_set_on_config_later_is_refused_before_anything_runs() -> None:
    ran: list[str] = []
    graph = StateGraph("g")
    graph.add_node("a", lambda s: ran.append("a")).add_edge(START, "a").add_edge("a", END)
    graph.config.checkpointer = object()  # type: ignore[assignment]
    with pytest.raises(ConfigurationError, match=r"checkpointer= must be"):
        await graph.execute({}, thread_id="t")
    assert ran == []


async def test_execute_sync_inside_a_running_loop_says_to_await_execute() -> None:
    graph = asking_graph()
    with pytest.raises(SyncInEventLoopError, match=r"await graph\.execute"):
        graph.execute_sync({})


def test_execute_sync_runs_without_a_loop() -> None:
    assert asking_graph().execute_sync({}).is_interrupted


def test_duplicate_node_name_fails_at_build_time() -> None:
    graph = StateGraph("dup")
    graph.add_node("a", lambda s: None)
    with pytest.raises(GraphDefinitionError, match="'a'"):
        graph.add_node("a", lambda s: None)


def test_reserved_and_non_callable_nodes_fail_at_build_time() -> None:
    with pytest.raises(GraphDefinitionError, match="reserved"):
        StateGraph().add_node(START, lambda s: None)
    with pytest.raises(GraphDefinitionError, match="function"):
        StateGraph().add_node("x", "not callable")  # type: ignore[arg-type]


def test_edge_to_unknown_node_fails_at_compile() -> None:
    graph = StateGraph("g")
    graph.add_node("a", lambda s: None).add_edge(START, "a").add_edge("a", "ghost")
    with pytest.raises(GraphDefinitionError, match="'ghost'"):
        graph.compile()


def test_missing_entry_from_start_fails_at_compile() -> None:
    graph = StateGraph("g")
    graph.add_node("a", lambda s: None).add_edge("a", END)
    with pytest.raises(GraphDefinitionError, match="START"):
        graph.compile()


async def test_interrupt_before_unknown_node_fails_before_anything_runs() -> None:
    ran: list[str] = []
    graph = StateGraph("g")
    graph.add_node("a", lambda s: ran.append("a")).add_edge(START, "a").add_edge("a", END)
    graph.config.interrupt_before = ["deploy"]
    with pytest.raises(GraphDefinitionError, match="'deploy'"):
        await graph.execute({})
    with pytest.raises(GraphDefinitionError, match="'nope'"):
        graph.compile(interrupt_before=[], interrupt_after=["nope"])
    assert ran == []


def test_conditional_edge_with_unknown_target_fails_at_compile() -> None:
    graph = StateGraph("g")
    graph.add_node("a", lambda s: None).add_edge(START, "a")
    graph.add_conditional_edges("a", lambda s: "b", ["b"])
    with pytest.raises(GraphDefinitionError, match="'b'"):
        graph.compile()


async def test_router_returning_unknown_node_names_router_and_value() -> None:
    graph = StateGraph("g")
    graph.add_node("a", lambda s: None).add_edge(START, "a")
    graph.add_conditional_edges("a", lambda s: "nowhere")
    with pytest.raises(InvalidNodeOutputError, match="'nowhere'"):
        await graph.execute({})


async def test_node_failure_names_the_node_chains_the_cause_and_keeps_state() -> None:
    graph = StateGraph("g")
    graph.add_node("ok", lambda s: {"computed": 42})

    def broken(state: dict[str, Any]) -> dict[str, Any]:
        raise ValueError("upstream API down")

    graph.add_node("broken", broken)
    graph.add_edge(START, "ok").add_edge("ok", "broken").add_edge("broken", END)
    with pytest.raises(NodeExecutionError, match="'broken'") as info:
        await graph.execute({"input": 1})
    assert isinstance(info.value.__cause__, ValueError)
    assert info.value.node == "broken"
    assert info.value.state == {"input": 1, "computed": 42}


async def test_node_returning_the_wrong_type_is_named() -> None:
    graph = StateGraph("g")
    graph.add_node("bad", lambda s: ["not", "a", "dict"])
    graph.add_edge(START, "bad").add_edge("bad", END)
    with pytest.raises(InvalidNodeOutputError, match=r"'bad'.*list"):
        await graph.execute({})


async def test_node_goto_unknown_node_is_named() -> None:
    graph = StateGraph("g")
    graph.add_node("a", lambda s: Command(goto="zzz")).add_edge(START, "a")
    with pytest.raises(InvalidNodeOutputError, match="'zzz'"):
        await graph.execute({})


async def test_endless_loop_hits_max_steps_naming_the_loop() -> None:
    graph = StateGraph("loop")
    graph.add_node("ping", lambda s: None).add_node("pong", lambda s: None)
    graph.add_edge(START, "ping").add_edge("ping", "pong")
    graph.add_conditional_edges("pong", lambda s: "ping", ["ping"])
    graph.config.max_steps = 10
    with pytest.raises(GraphRecursionError, match=r"\['ping', 'pong'\]"):
        await graph.execute({})


async def test_thread_id_without_checkpointer_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="checkpointer"):
        await asking_graph().execute({}, thread_id="t-1")


def test_every_error_is_a_locus_error() -> None:
    import locus.errors as errors

    for name in errors.__all__:
        assert issubclass(getattr(errors, name), LocusError), name


async def test_unknown_interrupt_id_at_a_static_breakpoint_is_named() -> None:
    graph = asking_graph().compile(interrupt_before=["ask"])
    paused = await graph.execute({})
    with pytest.raises(UnknownInterruptError, match="'nope'"):
        await graph.execute(Command(update=paused.final_state, resume_by_id={"nope": True}))
