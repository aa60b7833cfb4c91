"""Claims on Redis: never more items than the room asked for.

A read's COUNT applies to each stream, so a worker serving several graphs can be handed
more entries than it has room for; it takes the rest with its next claims.
"""

from __future__ import annotations

from locus.checkpoint import connect
from locus.multiagent.graph import END, START, StateGraph
from locus.workers import queue_for


def one_step(name: str, checkpointer: object) -> StateGraph:
    graph = StateGraph(name)
    graph.add_node("step", lambda state: {"done": True})
    graph.add_edge(START, "step")
    graph.add_edge("step", END)
    graph.compile(checkpointer=checkpointer)
    return graph


async def test_a_claim_over_several_graphs_takes_no_more_than_its_room(redis_url: str) -> None:
    cp = connect(redis_url)
    graphs = [one_step("a", cp), one_step("b", cp)]
    queue = queue_for(cp)
    await queue.setup()
    try:
        for graph in graphs:
            for i in range(3):
                await graph.submit({}, thread_id=f"{graph.name}{i}")
        claimed = []
        for _ in range(6):
            got = await queue.claim(["a", "b"], "w1", 1)
            assert len(got) == 1
            claimed += got
            await queue.keep(claimed, "w1")  # also keeps the entries it could not take yet
        assert sorted(i.thread_id for i in claimed) == ["a0", "a1", "a2", "b0", "b1", "b2"]
        assert await queue.claim(["a", "b"], "w1", 1) == []  # waits a second, finds nothing
        await queue.finish(claimed)
        assert await queue.items() == []
    finally:
        await queue.close()
        await cp.aclose()
