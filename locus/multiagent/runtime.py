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
from locus.core.interrupt import NodeContext, NodeInterrupt, PendingCall, _enter, _leave
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
from locus.multiagent.plan import END, START, NodeSpec, Router, RunPlan
from locus.multiagent.result import GraphResult
from locus.multiagent.run_state import PAUSE_KEY, PendingInterrupt, RunState, interrupt_id
from locus.multiagent.send import Send, branch_index, branch_key, branch_node
from locus.multiagent.subgraph import SEP, run_subgraph, top_node

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
    """A node's result: its update and goto, or the interrupts it paused on.

    ``pending`` holds a plain node's unanswered ``interrupt()`` calls; ``nested`` the
    pending interrupts of an inner graph, already named by their paths.
    """

    __slots__ = ("goto", "nested", "pending", "update")

    def __init__(
        self,
        update: dict[str, Any],
        goto: tuple[str, ...] = (),
        pending: list[PendingCall] | None = None,
        nested: list[PendingInterrupt] | None = None,
    ) -> None:
        self.update = update
        self.goto = goto
        self.pending = pending
        self.nested = nested


class Execution:
    """One ``execute`` call over a plan. Holds nothing after it returns."""

    __slots__ = ("after", "before", "emit", "max_steps", "obs", "on_step", "path", "plan")

    def __init__(
        self,
        run_plan: RunPlan,
        *,
        emit: Callable[[Any], None] | None = None,
        on_step: StepHook | None = None,
        obs: RunObserver | None = None,
    ) -> None:
        self.plan = run_plan.plan
        self.before = run_plan.before
        self.after = run_plan.after
        self.max_steps = run_plan.max_steps
        self.emit = emit
        self.on_step = on_step
        self.obs = obs
        self.path: list[str] = []

    # --- entry points -------------------------------------------------------------------

    async def start(self, values: dict[str, Any], rs: RunState | None = None) -> GraphResult:
        """Run from START with ``values`` (owned by the run from now on).

        ``rs`` is a fresh run state to use (an inner graph's, with an id derived from its
        outer run); by default the run gets a random id.
        """
        if rs is None:
            rs = RunState(run_id=os.urandom(8).hex())
        return await self._entry(self._start(values, rs), rs, "start")

    async def _start(self, values: dict[str, Any], rs: RunState) -> GraphResult:
        sources = [(START, ())]
        first = self._static_next(sources)
        rs.frontier = first if first is not None else await self._next_frontier(values, rs, sources)
        return await self._drive(values, rs, skip_before=False)

    async def resume_running(self, values: dict[str, Any], rs: RunState) -> GraphResult:
        """Continue a run that stopped mid-way (its process died): re-run its current step."""
        return await self._entry(self._drive(values, rs, skip_before=False), rs, "continue")

    async def resume(self, values: dict[str, Any], rs: RunState, command: Command) -> GraphResult:
        """Continue a paused run with the answers and ``goto`` in ``command``.

        Raises:
            ResumeTargetError: the pause or ``goto`` names a node this graph lacks.
            UnknownInterruptError, AmbiguousResumeError, MissingResumeError: bad answers.
        """
        plan = self.plan
        for name in () if rs.names_only(plan.nodes) else rs.nodes_named():
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
        return await self._entry(self._resume(values, rs, command), rs, "resume", command)

    async def _resume(self, values: dict[str, Any], rs: RunState, command: Command) -> GraphResult:
        goto = command.goto_targets()
        kind = rs.kind
        paused_nodes = _tops(rs.pending)
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
            rs.subruns.pop(node, None)
        rs.answers = {k: v for k, v in rs.answers.items() if top_node(k) not in paused_nodes}
        rs.frontier = [n for n in rs.frontier if n in rs.done]
        return await self._drive(values, rs, skip_before=True, extra_goto=goto)

    def _entry(
        self,
        work: Coroutine[Any, Any, GraphResult],
        rs: RunState,
        kind: str,
        command: Command | None = None,
    ) -> Coroutine[Any, Any, GraphResult]:
        """``work`` (one of the entry points), observed when something observes."""
        return work if self.obs is None else self._observed(work, rs, kind, command)

    async def _observed(
        self,
        work: Coroutine[Any, Any, GraphResult],
        rs: RunState,
        kind: str,
        command: Command | None,
    ) -> GraphResult:
        """Run ``work`` with the observer told how it goes."""
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
        obs = self.obs
        while rs.frontier or extra_goto:
            if rs.step >= self.max_steps:
                raise self._too_many_steps(values)
            frontier = rs.frontier
            if rs.spent:
                rs.spent.clear()
            if self.before and not skip_before:
                hit = [n for n in frontier if branch_node(n) in self.before]
                if hit:
                    return await self._pause_static(values, rs, hit, "interrupt_before")
            skip_before = False
            written: set[str] = set()
            if obs is not None:
                # a step lasts until the next begins (or the run ends): merge, routing
                # and the checkpoint write belong to it
                obs.step_started(rs.step, frontier)
            runnable = self._runnable(rs) if rs.pending or rs.done else frontier
            finished: list[tuple[str, dict[str, Any], tuple[str, ...]]] | None
            if len(runnable) == 1:
                # one node needs no task of its own
                name = runnable[0]
                call = self._call if obs is None else self._observed_call
                spec = self.plan.nodes.get(name) or self._spec(name)
                view = self._view(name, values, rs) if rs.sends else dict(values)
                outcome = await call(name, spec, view, rs)
                if (
                    outcome.pending is None
                    and outcome.nested is None
                    and not rs.pending
                    and not rs.done
                ):
                    # the common step: one node finished, nothing carried over
                    self._finish_node(name, rs)
                    finished = None
                else:
                    finished = self._settle(rs, runnable, [outcome])
                    if finished is None:
                        return await self._pause(values, rs, "interrupt")
            else:
                finished = self._settle(rs, runnable, await self._run_all(values, rs, runnable))
                if finished is None:
                    return await self._pause(values, rs, "interrupt")
            if finished is None or len(finished) == 1:
                if finished is not None:
                    name, update, goto = finished[0]
                else:
                    update, goto = outcome.update, outcome.goto
                if update:
                    if self.plan.reducers:
                        self._merge(values, ((name, update),), written, rs.step)
                    else:
                        values.update(update)
                        written.update(update)
                sources: list[tuple[str, tuple[str, ...]]] = [(name, goto)]
            else:
                self._merge(values, [(n, u) for n, u, _ in finished], written, rs.step)
                sources = [(n, g) for n, _, g in finished]
            if extra_goto:
                sources.append((_RESUME_GOTO, extra_goto))
                extra_goto = ()
            rs.step += 1
            # the common case, decided without a coroutine: one node, one static edge
            nxt = self._static_next(sources)
            rs.frontier = nxt if nxt is not None else await self._next_frontier(values, rs, sources)
            if self.on_step is not None:
                await self.on_step(values, rs, written)
            if self.after:
                hit = [n for n, _ in sources if branch_node(n) in self.after]
                if hit:
                    return await self._pause_static(values, rs, hit, "interrupt_after")
        return GraphResult(final_state=values, path=self.path, steps=rs.step)

    def _runnable(self, rs: RunState) -> list[str]:
        """The step's nodes still to run: not finished, not waiting for an answer."""
        if rs.pending or rs.done:
            blocked = _tops(rs.pending)
            return [n for n in rs.frontier if n not in rs.done and n not in blocked]
        return rs.frontier

    async def _run_all(
        self, values: dict[str, Any], rs: RunState, names: list[str]
    ) -> list[_Outcome]:
        """Run several nodes of one step concurrently; the first failure is raised."""
        import asyncio  # deferred: importing locus.multiagent should not pay for it

        call = self._call if self.obs is None else self._observed_call
        outcomes = await asyncio.gather(
            *(call(n, self._spec(n), self._view(n, values, rs), rs) for n in names),
            return_exceptions=True,
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        return outcomes  # type: ignore[return-value]  # no exception was among them

    def _settle(
        self, rs: RunState, names: list[str], outcomes: list[_Outcome]
    ) -> list[tuple[str, dict[str, Any], tuple[str, ...]]] | None:
        """Record the outcomes of a step's nodes.

        Returns every node of the step as (name, update, goto) in frontier order, or
        ``None`` when any of them paused (those that finished are kept in ``rs.done``).
        """
        done = rs.done
        for name, outcome in zip(names, outcomes, strict=True):
            if outcome.pending is not None:
                rs.pending = [*rs.pending, *self._pending(name, outcome.pending, rs)]
            elif outcome.nested is not None:
                rs.pending = [*rs.pending, *outcome.nested]
            else:
                done[name] = (outcome.update, outcome.goto)
                self._finish_node(name, rs)
        if rs.pending:
            return None
        rs.done = {}
        return [(n, *done[n]) for n in rs.frontier if n in done]

    def _spec(self, name: str) -> NodeSpec:
        """The node a frontier name runs (a branch ``review[3]`` runs ``review``)."""
        spec = self.plan.nodes.get(name)
        return spec if spec is not None else self.plan.nodes[branch_node(name)]

    @staticmethod
    def _view(name: str, values: dict[str, Any], rs: RunState) -> dict[str, Any]:
        """What a node sees: its own copy of the state, or its branch's payload."""
        if rs.sends:
            payload = rs.sends.get(name)
            if payload is not None:
                return dict(payload)
        return dict(values)

    def _finish_node(self, name: str, rs: RunState) -> None:
        self.path.append(name)
        if rs.sends:
            rs.sends.pop(name, None)
        if rs.answers:
            rs.answers.pop(name, None)
            if rs.answers:  # answers left for a subgraph's paths (refund/approve)
                prefix = name + SEP
                for key in [k for k in rs.answers if k.startswith(prefix)]:
                    del rs.answers[key]
        if rs.journals:
            rs.journals.pop(name, None)

    # --- one node -------------------------------------------------------------------------

    async def _observed_call(
        self, name: str, spec: NodeSpec, view: dict[str, Any], rs: RunState
    ) -> _Outcome:
        obs = self.obs
        assert obs is not None
        handle = obs.node_started(name, rs.step)
        try:
            outcome = await self._call(name, spec, view, rs)
        except BaseException as exc:
            obs.node_failed(handle, exc)
            raise
        obs.node_finished(handle, rs, outcome.pending or outcome.nested)
        return outcome

    async def _call(
        self, name: str, spec: NodeSpec, view: dict[str, Any], rs: RunState
    ) -> _Outcome:
        emit = self.emit
        ctx = NodeContext(name, rs.step, rs.answers.get(name, _NO_ANSWERS), emit=emit)
        if spec.subgraph is not None:
            # the inner run's errors are already named by its graph and node
            inner = await run_subgraph(spec.subgraph, name, view, rs, ctx)
            if isinstance(inner, list):
                return _Outcome(_EMPTY, (), None, inner)
            return _Outcome(inner)
        if rs.journals:
            recorded = rs.journals.get(name)
            if recorded:
                ctx.journal = dict(recorded)
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
            if not ctx.pending and ctx.fatal_error is None:
                raise self._node_failed(name, exc, view) from exc
            out = None
        finally:
            _leave(token)
        fatal = ctx.fatal_error
        if fatal is not None:
            if isinstance(fatal, GraphRuntimeError) and not fatal.state:
                fatal.state = view
            raise fatal
        if ctx.pending:
            # also reached when the node swallowed NodeInterrupt with a bare except
            if ctx.journal:
                rs.journals[name] = ctx.journal
            return _Outcome(_EMPTY, (), ctx.pending)
        if ctx.journal is not None:
            rs.spent[name] = ctx.journal
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

    def _static_next(self, sources: Sequence[tuple[str, tuple[str, ...]]]) -> list[str] | None:
        """The next frontier when one node finished with one static edge, else ``None``."""
        if len(sources) == 1 and not sources[0][1]:
            target = self.plan.only_edge.get(sources[0][0])
            if target is not None:
                return [] if target == END else [target]
        return None

    async def _next_frontier(
        self,
        values: dict[str, Any],
        rs: RunState,
        sources: Sequence[tuple[str, tuple[str, ...]]],
    ) -> list[str]:
        plan = self.plan
        edges = plan.edges
        routers = plan.routers
        nxt: dict[str, None] = {}
        joins = plan.join_preds
        arrived = rs.arrived
        sent: dict[str, int] = {}
        for key, goto in sources:
            src = branch_node(key)
            chosen = list(edges.get(src, ()))
            chosen.extend(goto)
            for router in routers.get(src, ()):
                chosen.extend(await self._route(router, values, rs, sent))
            for dst in chosen:
                if dst == END:
                    continue
                if dst in joins:
                    arrived.setdefault(dst, set()).add(src)  # a branch arrives as its node
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

    async def _route(
        self, router: Router, values: dict[str, Any], rs: RunState, sent: dict[str, int]
    ) -> list[str]:
        """The targets ``router`` picks; each ``Send`` becomes a branch key with a payload."""
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
            if isinstance(pick, Send):
                result.append(self._branch(router, pick, values, rs, sent))
                continue
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

    def _branch(
        self, router: Router, send: Send, values: dict[str, Any], rs: RunState, sent: dict[str, int]
    ) -> str:
        """Register the branch ``send`` asks for; returns its key (``review[3]``)."""
        if send.node not in self.plan.nodes:
            raise InvalidNodeOutputError(
                f"the router after node {router.source!r} returned Send({send.node!r}, ...), "
                f"which is not a node of graph {self.plan.name!r} "
                f"(nodes: {sorted(self.plan.nodes)})",
                node=router.source,
                state=dict(values),
            )
        if not isinstance(send.payload, Mapping):
            raise InvalidNodeOutputError(
                f"the router after node {router.source!r} returned Send({send.node!r}, "
                f"{type(send.payload).__name__}); a Send's payload is the branch's state and "
                "must be a dict",
                node=router.source,
                state=dict(values),
            )
        index = sent.get(send.node, 0)
        sent[send.node] = index + 1
        key = branch_key(send.node, index)
        rs.sends[key] = dict(send.payload)
        return key

    def _ordered(self, names: Any, extra: tuple[str, ...]) -> list[str]:
        out = [n for n in dict.fromkeys((*names, *extra)) if n != END]
        if len(out) > 1:
            order = self.plan.order
            if any("[" in n for n in out):
                out.sort(key=lambda n: (order[branch_node(n)], branch_index(n)))
            else:
                out.sort(key=order.__getitem__)
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
        rerun = _tops(answered)
        rs.pending = (
            [p for p in pending if top_node(p.node) not in rerun] if answered != pending else []
        )
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


def _tops(pending: list[PendingInterrupt]) -> set[str]:
    """The outer nodes (or branches) of pending interrupts' paths."""
    if len(pending) == 1:
        node = pending[0].node
        return {top_node(node) if SEP in node else node}
    names = {p.node for p in pending}
    if SEP in "\0".join(names):
        return {top_node(n) for n in names}
    return names


def _json_schema(schema: Any) -> dict[str, Any] | None:
    if schema is None:
        return None
    from locus.core.schema import json_schema_of

    return json_schema_of(schema)
