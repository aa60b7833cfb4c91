"""The step loop: runs a plan's nodes over a state dict, pausing and resuming.

A run advances in steps. Every node of a step sees the state as it was when the step began
(each gets its own shallow copy), the nodes of one step run concurrently, and their updates
are merged when all have finished. A node that calls ``interrupt()`` without an answer
pauses the whole step: nodes that finished in it keep their updates in the run state and are
not re-run on resume.
"""

from __future__ import annotations

import inspect
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from locus.core.command import NO_ANSWER, Command
from locus.core.interrupt import (
    FATAL_ERROR_KEY,
    JOURNAL_KEY,
    NodeContext,
    NodeInterrupt,
    PendingCall,
    _enter,
    _leave,
)
from locus.errors import (
    AmbiguousResumeError,
    GraphRecursionError,
    GraphRuntimeError,
    InvalidNodeOutputError,
    LocusError,
    MissingResumeError,
    NodeExecutionError,
    ReducerError,
    ResumeTargetError,
    StateConflictError,
    UnknownInterruptError,
)
from locus.multiagent.plan import END, START, GraphPlan, NodeSpec, Router
from locus.multiagent.result import GraphResult
from locus.multiagent.run_state import PAUSE_KEY, PendingInterrupt, RunState, interrupt_id

if TYPE_CHECKING:
    from collections.abc import Coroutine

    from locus.observe.run import RunObserver

__all__ = ["Execution", "StepHook"]

_EMPTY: dict[str, Any] = {}
#: the source of the routes a resume's ``goto`` adds; unlike START it has no edges
_RESUME_GOTO = "__resume_goto__"
_NO_ANSWERS: dict[int, Any] = {}

#: Called after every completed step and at every pause: (values, run state, keys written).
StepHook = Callable[[dict[str, Any], RunState, set[str]], Any]


class _Outcome:
    __slots__ = ("goto", "pending", "update")

    def __init__(
        self,
        update: dict[str, Any],
        goto: tuple[str, ...] = (),
        pending: list[PendingCall] | None = None,
    ) -> None:
        self.update = update
        self.goto = goto
        self.pending = pending


class Execution:
    """One ``execute`` call over a plan. Holds nothing after it returns."""

    __slots__ = ("after", "before", "emit", "max_steps", "obs", "on_step", "path", "plan")

    def __init__(
        self,
        plan: GraphPlan,
        *,
        before: frozenset[str],
        after: frozenset[str],
        max_steps: int,
        emit: Callable[[Any], None] | None = None,
        on_step: StepHook | None = None,
        obs: RunObserver | None = None,
    ) -> None:
        self.plan = plan
        self.before = before
        self.after = after
        self.max_steps = max_steps
        self.emit = emit
        self.on_step = on_step
        self.obs = obs
        self.path: list[str] = []

    # --- entry points -------------------------------------------------------------------

    async def start(self, values: dict[str, Any]) -> GraphResult:
        """Run from START with ``values`` (owned by the run from now on)."""
        rs = RunState(run_id=os.urandom(8).hex())
        if self.obs is not None:
            return await self._observed(self._start(values, rs), rs, "start")
        rs.frontier = await self._next_frontier(values, rs, [(START, ())])
        return await self._drive(values, rs, skip_before=False)

    async def _start(self, values: dict[str, Any], rs: RunState) -> GraphResult:
        rs.frontier = await self._next_frontier(values, rs, [(START, ())])
        return await self._drive(values, rs, skip_before=False)

    async def resume_running(self, values: dict[str, Any], rs: RunState) -> GraphResult:
        """Continue a run that stopped mid-way (its process died): re-run its current step."""
        if self.obs is not None:
            return await self._observed(self._drive(values, rs, skip_before=False), rs, "continue")
        return await self._drive(values, rs, skip_before=False)

    async def resume(self, values: dict[str, Any], rs: RunState, command: Command) -> GraphResult:
        """Continue a paused run with the answers and ``goto`` in ``command``.

        Raises:
            ResumeTargetError: the pause or ``goto`` names a node this graph lacks.
            UnknownInterruptError, AmbiguousResumeError, MissingResumeError: bad answers.
        """
        plan = self.plan
        for name in rs.nodes_named():
            if name not in plan.nodes and name not in (START, END):
                raise ResumeTargetError(
                    f"the pause refers to node {name!r}, which graph {plan.name!r} does not "
                    f"have (nodes: {sorted(plan.nodes)})"
                )
        for target in command.goto_targets():
            if target != END and target not in plan.nodes:
                raise ResumeTargetError(
                    f"Command(goto={target!r}) names a node graph {plan.name!r} does not have "
                    f"(nodes: {sorted(plan.nodes)})"
                )
        for iid in command.resume_by_id or ():
            if all(p.id != iid for p in rs.pending):
                raise self._unknown_interrupt(iid, rs.pending)
        if self.obs is not None:
            return await self._observed(self._resume(values, rs, command), rs, "resume", command)
        return await self._resume(values, rs, command)

    async def _resume(self, values: dict[str, Any], rs: RunState, command: Command) -> GraphResult:
        goto = command.goto_targets()
        kind = rs.kind
        paused_nodes = {p.node for p in rs.pending}
        if kind == "interrupt" and not goto:
            self._apply_answers(rs, command)
            return await self._drive(values, rs, skip_before=True)
        rs.pending = []
        rs.kind = None
        if kind == "interrupt_before":
            kept = [n for n in rs.frontier if n not in paused_nodes]
            rs.frontier = self._ordered(kept, goto) if goto else rs.frontier
            return await self._drive(values, rs, skip_before=True)
        if kind == "interrupt_after":
            if goto:
                rs.frontier = self._ordered((), goto)
            return await self._drive(values, rs, skip_before=False)
        # interrupt() pauses answered with goto: the paused nodes are dropped, the step
        # completes with what finished, and the run continues at the goto targets too.
        for node in paused_nodes:
            rs.answers.pop(node, None)
            rs.journals.pop(node, None)
        rs.frontier = [n for n in rs.frontier if n in rs.done]
        return await self._drive(values, rs, skip_before=True, extra_goto=goto)

    async def _observed(
        self,
        work: Coroutine[Any, Any, GraphResult],
        rs: RunState,
        kind: str,
        command: Command | None = None,
    ) -> GraphResult:
        """Run ``work`` (one of the entry points) with the observer told how it goes."""
        obs = self.obs
        assert obs is not None
        obs.begin(rs, kind, command)
        try:
            result = await work
        except BaseException as exc:
            obs.failed(exc)
            raise
        obs.finished(result)
        return result

    # --- the loop -----------------------------------------------------------------------

    async def _drive(
        self,
        values: dict[str, Any],
        rs: RunState,
        *,
        skip_before: bool,
        extra_goto: tuple[str, ...] = (),
    ) -> GraphResult:
        plan = self.plan
        obs = self.obs
        while rs.frontier or extra_goto:
            if rs.step >= self.max_steps:
                raise self._too_many_steps(values)
            frontier = rs.frontier
            if rs.spent:
                rs.spent.clear()
            if self.before and not skip_before:
                hit = [n for n in frontier if n in self.before]
                if hit:
                    return await self._pause_static(values, rs, hit, "interrupt_before")
            skip_before = False
            written: set[str] = set()
            if len(frontier) == 1 and not rs.done and not rs.pending:
                # the common case: one node, nothing carried over from a pause
                name = frontier[0]
                if obs is None:
                    outcome = await self._call(plan.nodes[name], dict(values), rs)
                else:
                    # a step lasts until the next begins (or the run ends): merge, routing
                    # and the checkpoint write belong to it
                    obs.step_started(rs.step, frontier)
                    outcome = await self._observed_call(plan.nodes[name], dict(values), rs)
                if outcome.pending is not None:
                    rs.pending = self._pending(name, outcome.pending, rs)
                    return await self._pause(values, rs, "interrupt")
                self._finish_node(name, rs)
                self._merge(values, ((name, outcome.update),), written, rs.step)
                sources: list[tuple[str, tuple[str, ...]]] = [(name, outcome.goto)]
            else:
                if obs is not None:
                    obs.step_started(rs.step, frontier)
                if not await self._run_step(values, rs):
                    return await self._pause(values, rs, "interrupt")
                done = rs.done
                order = [n for n in frontier if n in done]
                self._merge(values, [(n, done[n][0]) for n in order], written, rs.step)
                sources = [(n, done[n][1]) for n in order]
                rs.done = {}
            if extra_goto:
                sources.append((_RESUME_GOTO, extra_goto))
                extra_goto = ()
            rs.step += 1
            rs.frontier = await self._next_frontier(values, rs, sources)
            if self.on_step is not None:
                await self.on_step(values, rs, written)
            if self.after:
                hit = [n for n, _ in sources if n in self.after]
                if hit:
                    return await self._pause_static(values, rs, hit, "interrupt_after")
        return GraphResult(final_state=values, path=self.path, steps=rs.step)

    async def _run_step(self, values: dict[str, Any], rs: RunState) -> bool:
        """Run the step's nodes that have not finished; False when any of them paused."""
        blocked = {p.node for p in rs.pending}
        runnable = [n for n in rs.frontier if n not in rs.done and n not in blocked]
        nodes = self.plan.nodes
        call = self._call if self.obs is None else self._observed_call
        if len(runnable) == 1:
            outcomes: list[_Outcome | BaseException] = [
                await call(nodes[runnable[0]], dict(values), rs)
            ]
        else:
            import asyncio  # deferred: importing locus.multiagent should not pay for it

            outcomes = await asyncio.gather(
                *(call(nodes[n], dict(values), rs) for n in runnable),
                return_exceptions=True,
            )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        pending = list(rs.pending)
        for name, outcome in zip(runnable, outcomes, strict=True):
            assert isinstance(outcome, _Outcome)
            if outcome.pending is not None:
                pending.extend(self._pending(name, outcome.pending, rs))
            else:
                rs.done[name] = (outcome.update, outcome.goto)
                self._finish_node(name, rs)
        rs.pending = pending
        return not pending

    def _finish_node(self, name: str, rs: RunState) -> None:
        self.path.append(name)
        if rs.answers:
            rs.answers.pop(name, None)
        if rs.journals:
            rs.journals.pop(name, None)

    # --- one node -------------------------------------------------------------------------

    async def _observed_call(self, spec: NodeSpec, view: dict[str, Any], rs: RunState) -> _Outcome:
        obs = self.obs
        assert obs is not None
        handle = obs.node_started(spec.name, rs.step)
        try:
            outcome = await self._call(spec, view, rs)
        except BaseException as exc:
            obs.node_failed(handle, exc)
            raise
        obs.node_finished(handle, rs, outcome.pending)
        return outcome

    async def _call(self, spec: NodeSpec, view: dict[str, Any], rs: RunState) -> _Outcome:
        name = spec.name
        emit = self.emit
        ctx = NodeContext(name, rs.step, rs.answers.get(name, _NO_ANSWERS), emit=emit)
        if rs.journals:
            recorded = rs.journals.get(name)
            if recorded:
                ctx.extras[JOURNAL_KEY] = dict(recorded)
        if emit is not None:
            from locus.core.events import NodeStartedEvent

            emit(NodeStartedEvent(node=name, step=rs.step))
            started = time.perf_counter()
        token = _enter(ctx)
        try:
            out = spec.fn(view)
            if spec.is_async or inspect.isawaitable(out):
                out = await out
        except NodeInterrupt:
            out = None
        except Exception as exc:
            # a pending interrupt or a rejected answer explains whatever the node raised
            if not ctx.pending and FATAL_ERROR_KEY not in ctx.extras:
                raise self._node_failed(name, exc, view) from exc
            out = None
        finally:
            _leave(token)
        fatal = ctx.extras.get(FATAL_ERROR_KEY)
        if fatal is not None:
            if isinstance(fatal, GraphRuntimeError) and not fatal.state:
                fatal.state = view
            raise fatal
        if ctx.pending:
            # also reached when the node swallowed NodeInterrupt with a bare except
            journal = ctx.extras.get(JOURNAL_KEY)
            if journal:
                rs.journals[name] = journal
            return _Outcome(_EMPTY, (), ctx.pending)
        if JOURNAL_KEY in ctx.extras:
            rs.spent[name] = ctx.extras[JOURNAL_KEY]
        outcome = self._outcome(name, out)
        if emit is not None:
            from locus.core.events import NodeFinishedEvent

            emit(
                NodeFinishedEvent(
                    node=name,
                    step=rs.step,
                    update=outcome.update,
                    goto=list(outcome.goto),
                    elapsed_ms=(time.perf_counter() - started) * 1e3,
                )
            )
        return outcome

    def _node_failed(self, name: str, exc: BaseException, state: dict[str, Any]) -> LocusError:
        return NodeExecutionError(
            f"node {name!r} of graph {self.plan.name!r} raised "
            f"{type(exc).__name__}: {exc}; the state before the node is attached as .state",
            node=name,
            state=state,
        )

    def _outcome(self, name: str, out: Any) -> _Outcome:
        if out is None:
            return _Outcome(_EMPTY)
        if type(out) is dict:
            return _Outcome(out)
        if isinstance(out, Command):
            goto = out.goto_targets()
            for target in goto:
                if target != END and target not in self.plan.nodes:
                    raise InvalidNodeOutputError(
                        f"node {name!r} returned Command(goto={target!r}), which is not a "
                        f"node of graph {self.plan.name!r}",
                        node=name,
                    )
            return _Outcome(dict(out.update) if out.update else _EMPTY, goto)
        if isinstance(out, Mapping):
            return _Outcome(dict(out))
        raise InvalidNodeOutputError(
            f"node {name!r} returned {type(out).__name__}; a node must return a dict of "
            "state updates, None, or Command(update=..., goto=...)",
            node=name,
        )

    def _pending(self, name: str, calls: list[PendingCall], rs: RunState) -> list[PendingInterrupt]:
        from_schema = _json_schema if any(c.response_schema is not None for c in calls) else None
        return [
            PendingInterrupt(
                id=interrupt_id(rs.run_id, rs.step, name, call.index),
                node=name,
                index=call.index,
                payload=call.payload,
                schema=from_schema(call.response_schema) if from_schema else None,
                ask=call.ask,
            )
            for call in calls
        ]

    # --- merging and routing --------------------------------------------------------------

    def _merge(
        self,
        values: dict[str, Any],
        updates: Sequence[tuple[str, dict[str, Any]]],
        written: set[str],
        step: int,
    ) -> None:
        reducers = self.plan.reducers
        if len(updates) == 1 and not reducers:
            update = updates[0][1]
            if update:
                values.update(update)
                written.update(update)
            return
        writers: dict[str, str] = {}
        # merged first, applied last: a reducer that raises leaves ``values`` as it was
        merged: dict[str, Any] = {}
        for node, update in updates:
            for key, value in update.items():
                reducer = reducers.get(key)
                if reducer is not None:
                    if key in merged:
                        old = merged[key]
                    elif key in values:
                        old = values[key]
                    else:
                        merged[key] = value
                        written.add(key)
                        continue
                    try:
                        merged[key] = reducer(old, value)
                    except Exception as exc:
                        raise ReducerError(
                            f"the reducer for state key {key!r} raised {type(exc).__name__}: "
                            f"{exc} while merging the update of node {node!r} in step {step} "
                            f"of graph {self.plan.name!r}; nothing of this step was applied "
                            "and the state before it is attached as .state",
                            node=node,
                            state=dict(values),
                        ) from exc
                else:
                    other = writers.get(key)
                    if other is not None:
                        raise StateConflictError(
                            f"nodes {other!r} and {node!r} both wrote state key {key!r} in "
                            f"step {step} of graph {self.plan.name!r}; declare a "
                            f"reducer for it, e.g. StateGraph(reducers={{{key!r}: operator.add}})",
                            node=node,
                            state=dict(values),
                        )
                    writers[key] = node
                    merged[key] = value
                written.add(key)
        values.update(merged)

    async def _next_frontier(
        self,
        values: dict[str, Any],
        rs: RunState,
        sources: Sequence[tuple[str, tuple[str, ...]]],
    ) -> list[str]:
        plan = self.plan
        edges = plan.edges
        routers = plan.routers
        # the common case: one node with one static edge and nothing else to decide
        if len(sources) == 1 and not sources[0][1] and not plan.join_preds:
            src = sources[0][0]
            if src not in routers:
                targets = edges.get(src, ())
                if len(targets) == 1:
                    return [] if targets[0] == END else [targets[0]]
        nxt: dict[str, None] = {}
        joins = plan.join_preds
        arrived = rs.arrived
        for src, goto in sources:
            chosen = list(edges.get(src, ()))
            chosen.extend(goto)
            for router in routers.get(src, ()):
                chosen.extend(await self._route(router, values))
            for dst in chosen:
                if dst == END:
                    continue
                if dst in joins:
                    arrived.setdefault(dst, set()).add(src)
                else:
                    nxt[dst] = None
        if arrived:
            self._release_joins(nxt, arrived)
        return self._ordered(nxt, ())

    def _release_joins(self, nxt: dict[str, None], arrived: dict[str, set[str]]) -> None:
        """Schedule each waiting join whose missing predecessors can no longer arrive."""
        upstream = self.plan.upstream
        joins = self.plan.join_preds
        ready = []
        for join, got in arrived.items():
            missing = joins[join] - got
            if missing:
                active = set(nxt)
                active.update(j for j in arrived if j != join)
                if any(not active.isdisjoint(upstream[(join, p)]) for p in missing):
                    continue
            ready.append(join)
        if not ready and not nxt:
            ready = list(arrived)  # joins waiting on each other: release them all
        for join in ready:
            del arrived[join]
            nxt[join] = None

    async def _route(self, router: Router, values: dict[str, Any]) -> list[str]:
        try:
            choice = router.fn(values)
            if router.is_async or inspect.isawaitable(choice):
                choice = await choice
        except Exception as exc:
            raise NodeExecutionError(
                f"the router after node {router.source!r} raised {type(exc).__name__}: {exc}",
                node=router.source,
                state=dict(values),
            ) from exc
        picks = [choice] if isinstance(choice, str) or not isinstance(choice, Sequence) else choice
        result = []
        for pick in picks:
            target = pick
            if router.mapping is not None:
                if pick not in router.mapping:
                    raise InvalidNodeOutputError(
                        f"the router after node {router.source!r} returned {pick!r}, which is "
                        f"not one of its targets {sorted(map(str, router.mapping))}",
                        node=router.source,
                        state=dict(values),
                    )
                target = router.mapping[pick]
            if target != END and target not in self.plan.nodes:
                raise InvalidNodeOutputError(
                    f"the router after node {router.source!r} returned {pick!r}, which is not "
                    f"a node of graph {self.plan.name!r} (nodes: {sorted(self.plan.nodes)})",
                    node=router.source,
                    state=dict(values),
                )
            result.append(target)
        return result

    def _ordered(self, names: Any, extra: tuple[str, ...]) -> list[str]:
        out = [n for n in dict.fromkeys((*names, *extra)) if n != END]
        if len(out) > 1:
            out.sort(key=self.plan.order.__getitem__)
        return out

    # --- pausing and resuming ---------------------------------------------------------------

    async def _pause_static(
        self, values: dict[str, Any], rs: RunState, nodes: list[str], kind: str
    ) -> GraphResult:
        rs.pending = [
            PendingInterrupt(
                id=interrupt_id(rs.run_id, rs.step, node, kind),
                node=node,
                index=-1,
                payload={"type": kind, "node": node},
            )
            for node in nodes
        ]
        return await self._pause(values, rs, kind)

    async def _pause(self, values: dict[str, Any], rs: RunState, kind: Any) -> GraphResult:
        rs.kind = kind
        if self.obs is not None:
            self.obs.paused(rs)  # before the marker is written: it carries the span context
        else:
            rs.trace = None  # a stale record of an earlier pause must not outlive this one
        if self.on_step is not None:
            await self.on_step(values, rs, set())
        if self.emit is not None:
            from locus.core.events import GraphInterruptedEvent

            self.emit(GraphInterruptedEvent(interrupts=[p.to_json() for p in rs.pending]))
        snapshot = dict(values)
        snapshot[PAUSE_KEY] = rs.to_marker(self.plan.name)
        return GraphResult(
            final_state=snapshot,
            interrupts=[p.public() for p in rs.pending],
            path=self.path,
            steps=rs.step,
        )

    def _apply_answers(self, rs: RunState, command: Command) -> None:
        pending = rs.pending
        if command.resume_by_id:
            by_id = {p.id: p for p in pending}
            answered = []
            for iid, value in command.resume_by_id.items():
                found = by_id.get(iid)
                if found is None:
                    raise self._unknown_interrupt(iid, pending)
                rs.answers.setdefault(found.node, {})[found.index] = value
                answered.append(found)
            if command.resume is not NO_ANSWER:
                raise AmbiguousResumeError(
                    "pass either resume= (one pending interrupt) or resume_by_id=, not both"
                )
        elif command.resume is not NO_ANSWER:
            if len(pending) > 1:
                raise AmbiguousResumeError(
                    f"{len(pending)} interrupts are pending, so a single resume= value is "
                    "ambiguous; answer them with Command(resume_by_id={id: answer, ...}). "
                    "Pending: " + ", ".join(f"{p.id} (node {p.node!r})" for p in pending)
                )
            answered = list(pending)
            rs.answers.setdefault(pending[0].node, {})[pending[0].index] = command.resume
        else:
            raise MissingResumeError(
                "the run is paused at "
                + ", ".join(f"node {p.node!r} (interrupt {p.id})" for p in pending)
                + "; resume it with Command(resume=answer, update=result.final_state)"
            )
        rerun = {p.node for p in answered}
        rs.pending = [p for p in pending if p.node not in rerun]
        rs.kind = None

    @staticmethod
    def _unknown_interrupt(iid: str, pending: list[PendingInterrupt]) -> UnknownInterruptError:
        return UnknownInterruptError(
            f"interrupt id {iid!r} is not pending; pending: "
            + ", ".join(f"{p.id} (node {p.node!r})" for p in pending)
        )

    def _too_many_steps(self, values: dict[str, Any]) -> GraphRecursionError:
        seen: dict[str, int] = {}
        for name in self.path:
            seen[name] = seen.get(name, 0) + 1
        looping = [n for n, c in seen.items() if c > 1] or self.path[-5:]
        return GraphRecursionError(
            f"graph {self.plan.name!r} ran {self.max_steps} steps without reaching END; "
            f"nodes in the loop: {looping}. Raise graph.config.max_steps if this is expected",
            node=looping[-1] if looping else None,
            state=dict(values),
        )


def _json_schema(schema: Any) -> dict[str, Any] | None:
    if schema is None:
        return None
    from locus.core.schema import json_schema_of

    return json_schema_of(schema)
