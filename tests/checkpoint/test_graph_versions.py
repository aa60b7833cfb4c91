"""Graph identity: a stored thread resumed by a changed graph, on every backend."""

from __future__ import annotations

from typing import Any

import pytest
from checkpoint_backends import Backend

from locus.core import Command, interrupt
from locus.errors import GraphDefinitionError, GraphMismatchError
from locus.multiagent import END, START, StateGraph


def prepare(state: dict[str, Any]) -> dict[str, Any]:
    return {"amount": 40}


def approve(state: dict[str, Any]) -> dict[str, Any]:
    return {"approved": interrupt(f"refund {state['amount']}?") == "yes"}


def audit(state: dict[str, Any]) -> dict[str, Any]:
    return {"audited": True}


def refunds(
    backend: Backend,
    *,
    with_audit: bool = False,
    version: str | None = None,
    on_graph_change: Any = "refuse",
) -> StateGraph:
    graph = StateGraph(
        "refunds",
        checkpointer=backend.make(),
        version=version,
        on_graph_change=on_graph_change,
    )
    graph.add_node("prepare", prepare).add_node("approve", approve)
    graph.add_edge(START, "prepare").add_edge("prepare", "approve")
    if with_audit:
        graph.add_node("audit", audit).add_edge("approve", "audit").add_edge("audit", END)
    else:
        graph.add_edge("approve", END)
    return graph


async def test_resume_after_adding_a_node_is_refused_naming_the_change(backend: Backend) -> None:
    await refunds(backend).execute({}, thread_id="t")
    with pytest.raises(GraphMismatchError) as caught:
        await refunds(backend, with_audit=True).execute(Command(resume="yes"), thread_id="t")
    message = str(caught.value)
    assert "nodes added: ['audit']" in message
    assert "edges added: ['approve -> audit', 'audit -> __end__']" in message
    assert "edges removed: ['approve -> __end__']" in message
    # nothing ran and the lease was handed back: the old graph still resumes it
    done = await refunds(backend).execute(Command(resume="yes"), thread_id="t")
    assert done.final_state["approved"] is True


async def test_a_new_version_label_alone_is_a_change(backend: Backend) -> None:
    await refunds(backend, version="1").execute({}, thread_id="t")
    with pytest.raises(GraphMismatchError, match="version '1' -> '2'"):
        await refunds(backend, version="2").execute(Command(resume="yes"), thread_id="t")


async def test_allow_policy_resumes_with_the_changed_graph(backend: Backend) -> None:
    await refunds(backend).execute({}, thread_id="t")
    done = await refunds(backend, with_audit=True, on_graph_change="allow").execute(
        Command(resume="yes"), thread_id="t"
    )
    assert done.final_state["audited"] is True


async def test_migration_function_is_applied_once_and_recorded(backend: Backend) -> None:
    calls: list[str] = []

    def migrate(values: dict[str, Any], old: str) -> dict[str, Any]:
        calls.append(old)
        return {**values, "amount": values["amount"] * 100, "currency": "cents"}

    first = refunds(backend)
    await first.execute({}, thread_id="t")
    new = refunds(backend, version="2", on_graph_change=migrate)
    done = await new.execute(Command(resume="yes"), thread_id="t")
    assert done.final_state["amount"] == 4000
    assert done.final_state["currency"] == "cents"
    assert calls == [first.identity().fingerprint]
    stored = await backend.make().get("t")
    assert stored is not None
    [record] = stored.run["audit"]
    assert record["kind"] == "migration"
    assert (record["from"], record["to"]) == (
        first.identity().fingerprint,
        new.identity().fingerprint,
    )
    assert "version None -> '2'" in record["change"]
    # the thread now carries the new fingerprint, so no later resume migrates it again
    assert stored.run["fingerprint"] == new.identity().fingerprint


def test_on_graph_change_must_be_a_policy_or_a_function() -> None:
    with pytest.raises(GraphDefinitionError, match="on_graph_change"):
        StateGraph("g", on_graph_change="ignore")  # type: ignore[arg-type]


async def test_same_code_under_another_module_name_is_the_same_graph(backend: Backend) -> None:
    # a script run as __main__ pauses; a worker that imports the same file resumes
    await refunds(backend).execute({}, thread_id="t")
    moved = refunds(backend)
    for spec in moved._nodes.values():
        spec.fn.__module__ = "orders.graph"
    try:
        done = await moved.execute(Command(resume="yes"), thread_id="t")
    finally:
        for spec in moved._nodes.values():
            spec.fn.__module__ = __name__
    assert done.final_state["approved"] is True
