"""``StateGraph``: build a graph of nodes over a dict state, then execute or stream it."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, cast

from locus.core.command import Command
from locus.errors import (
    ConfigurationError,
    GraphDefinitionError,
    InvalidInputError,
    NothingToResumeError,
    SyncInEventLoopError,
)
from locus.multiagent.config import GraphConfig
from locus.multiagent.plan import (
    END,
    START,
    GraphPlan,
    NodeSpec,
    Router,
    RunPlan,
    build_plan,
    is_async_callable,
)
from locus.multiagent.result import GraphResult
from locus.multiagent.run_state import PAUSE_KEY, RunState
from locus.multiagent.runtime import Execution
from locus.observe.hooks import open_run

if TYPE_CHECKING:
    from locus.checkpoint import Checkpointer
    from locus.multiagent.durable import ThreadState
    from locus.multiagent.identity import GraphIdentity, Migration

__all__ = ["END", "START", "StateGraph"]

NodeFn = Callable[[dict[str, Any]], Any]
RouterFn = Callable[[dict[str, Any]], Any]


class StateGraph:
    """A graph of nodes that read a dict state and return updates to it.

    A node is a function (async or plain) taking the state dict and returning a dict of
    updates, ``None``, or ``Command(update=..., goto=...)``. Several outgoing edges run their
    targets concurrently in one step; a node with several incoming edges waits for all of
    them. A node may call ``interrupt(payload)`` to pause the graph for a human.

    The graph object holds only its definition and ``config``: one graph serves any number
    of concurrent runs, and a paused run resumes on any graph built the same way.

    Args:
        name: the graph's name, used in errors and stored with pauses.
        reducers: per-key functions ``(old, new) -> merged`` (e.g. ``operator.add`` for a
            list of messages); a key with a reducer may be written by several nodes in one
            step, and every write to it goes through the reducer.
        checkpointer: where runs are stored by ``thread_id``: a ``Checkpointer`` from
            ``locus.checkpoint`` (or your own subclass of it).
        types: Enum and pydantic model classes the graph's state, interrupts and answers
            hold; registered with its checkpointer (here or in ``compile``), which may
            then restore them. Stored data never makes locus import a class.
        version: your label for this shape of the graph; part of its fingerprint.
        on_graph_change: what resuming a stored thread does when the thread was written
            by a graph of this name with another fingerprint (nodes, edges, their code's
            qualified names, ``version``): ``"refuse"`` raises ``GraphMismatchError``
            listing what changed; ``"allow"`` resumes anyway; a function
            ``(old_values, old_fingerprint) -> new_values`` moves the state once, and the
            thread records the migration.

    Raises:
        GraphDefinitionError: a reducer is not callable.
        ConfigurationError: ``checkpointer`` is not a ``Checkpointer``.
        CheckpointUsageError: ``types`` holds something other than Enum and pydantic
            model classes.
    """

    def __init__(
        self,
        name: str | None = None,
        *,
        reducers: Mapping[str, Callable[[Any, Any], Any]] | None = None,
        checkpointer: Checkpointer | None = None,
        types: Iterable[type] = (),
        version: str | None = None,
        on_graph_change: Literal["refuse", "allow"] | Migration = "refuse",
    ) -> None:
        self.name = name or "graph"
        if on_graph_change not in ("refuse", "allow") and not callable(on_graph_change):
            raise GraphDefinitionError(
                f"graph {self.name!r}: on_graph_change must be 'refuse', 'allow' or a "
                f"function (old_values, old_fingerprint) -> new_values, got {on_graph_change!r}"
            )
        if version is not None and not isinstance(version, str):
            raise GraphDefinitionError(
                f"graph {self.name!r}: version= must be a str, got {type(version).__name__}"
            )
        self.version = version
        self.on_graph_change = on_graph_change
        self._identity: GraphIdentity | None = None
        self.config = GraphConfig(checkpointer=_checked_checkpointer(self.name, checkpointer))
        self._types = tuple(types)
        _register_types(self.config.checkpointer, self._types)
        self._nodes: dict[str, NodeSpec] = {}
        self._edges: list[tuple[str, str]] = []
        self._routers: list[Router] = []
        self._reducers: dict[str, Callable[[Any, Any], Any]] = dict(reducers or {})
        for key, reducer in self._reducers.items():
            if not callable(reducer):
                raise GraphDefinitionError(
                    f"graph {self.name!r}: the reducer for key {key!r} is not callable"
                )
        self._plan: GraphPlan | None = None
        self._breakpoints: tuple[tuple[str, ...], tuple[str, ...], int] | None = None
        self._run_plan: RunPlan | None = None

    # --- building -------------------------------------------------------------------------

    @property
    def nodes(self) -> list[str]:
        """Node names in the order they were added."""
        return list(self._nodes)

    @property
    def checkpointer(self) -> Checkpointer | None:
        """Where this graph stores its threads, or ``None`` for snapshot-only runs.

        Read-only: set it with ``StateGraph(checkpointer=...)`` or
        ``compile(checkpointer=...)``. Use it for the store's own methods, such as the
        inbox: ``await graph.checkpointer.list_pending()``.
        """
        return self.config.checkpointer

    def add_node(
        self,
        name: str,
        fn: NodeFn | StateGraph,
        *,
        inputs: Mapping[str, str] | None = None,
        outputs: Mapping[str, str] | None = None,
    ) -> StateGraph:
        """Add a node. Returns the graph, so calls can be chained.

        Args:
            name: the node's name; unique in this graph, without ``/`` or ``[``.
            fn: a function of the state, or another ``StateGraph`` to run as this node (a
                subgraph). An ``interrupt()`` inside a subgraph pauses this graph; its
                pending item is named by its path, such as ``refund/approve``, and a
                resume continues inside the subgraph where it paused.
            inputs: for a subgraph, outer key -> inner key: the state the subgraph starts
                with. By default it starts with this graph's whole state.
            outputs: for a subgraph, inner key -> outer key: what the node returns. By
                default every key the subgraph wrote flows back.

        Raises:
            GraphDefinitionError: on a duplicate or reserved name, a non-callable ``fn``,
                ``inputs``/``outputs`` without a subgraph, or a graph added inside itself.
        """
        if not isinstance(name, str) or not name:
            raise GraphDefinitionError(
                f"graph {self.name!r}: a node name must be a non-empty str, got {name!r}"
            )
        if name in (START, END) or "/" in name or "[" in name:
            raise GraphDefinitionError(
                f"graph {self.name!r}: {name!r} is a reserved name (START and END, and "
                "names with '/' or '[', which mark interrupt paths, are reserved)"
            )
        if name in self._nodes:
            raise GraphDefinitionError(f"graph {self.name!r} already has a node named {name!r}")
        if isinstance(fn, StateGraph):
            if fn is self or self in fn._inner_graphs():
                raise GraphDefinitionError(
                    f"graph {self.name!r}: node {name!r} would run graph {fn.name!r}, which "
                    "contains this graph; a graph cannot run inside itself"
                )
            from locus.multiagent.subgraph import Subgraph

            sub = Subgraph(
                fn,
                dict(inputs) if inputs is not None else None,
                dict(outputs) if outputs is not None else None,
            )
            self._nodes[name] = NodeSpec(name, fn._prepare, True, sub)
            self._plan = None
            # the inner run is stored with this graph's threads: restore its types too
            inner_types = tuple(t for t in fn._all_types() if t not in self._types)
            self._types += inner_types
            _register_types(self.config.checkpointer, inner_types)
            return self
        if inputs is not None or outputs is not None:
            raise GraphDefinitionError(
                f"graph {self.name!r}: node {name!r}: inputs= and outputs= apply only to a "
                "node that runs another StateGraph"
            )
        if not callable(fn):
            raise GraphDefinitionError(
                f"graph {self.name!r}: node {name!r} must be a function, got {type(fn).__name__}"
            )
        self._nodes[name] = NodeSpec(name, fn, is_async_callable(fn))
        self._plan = None
        return self

    def identity(self) -> GraphIdentity:
        """The fingerprint (and structure) stored with this graph's threads.

        Raises:
            GraphDefinitionError: the graph is malformed.
        """
        run_plan = self._prepare()
        if self._identity is None:
            from locus.multiagent.identity import identify  # only stored threads need it

            self._identity = identify(run_plan.plan, self.version)
        return self._identity

    def to_mermaid(self) -> str:
        """The graph as a Mermaid flowchart; subgraphs are drawn as nested blocks.

        Raises:
            GraphDefinitionError: the graph (or a subgraph) is malformed.
        """
        from locus.multiagent.mermaid import to_mermaid

        return to_mermaid(self)

    def _all_types(self) -> tuple[type, ...]:
        """The stored types of this graph and every graph nested inside it."""
        found = list(self._types)
        for inner in self._inner_graphs():
            found.extend(t for t in inner._types if t not in found)
        return tuple(found)

    def _inner_graphs(self) -> list[StateGraph]:
        """Every graph nested inside this one, at any depth."""
        found: list[StateGraph] = []
        for spec in self._nodes.values():
            if spec.subgraph is not None:
                found.append(spec.subgraph.graph)
                found.extend(spec.subgraph.graph._inner_graphs())
        return found

    def add_edge(self, source: str, target: str) -> StateGraph:
        """Run ``target`` after ``source``. Unknown names are reported at compile time."""
        self._edges.append((source, target))
        self._plan = None
        return self

    def set_entry_point(self, node: str) -> StateGraph:
        """Shorthand for ``add_edge(START, node)``."""
        return self.add_edge(START, node)

    def add_conditional_edges(
        self,
        source: str,
        router: RouterFn,
        targets: Mapping[Any, str] | Sequence[str] | None = None,
    ) -> StateGraph:
        """After ``source``, run the node(s) ``router(state)`` names (or ``END``).

        Args:
            source: the node (or ``START``) the decision follows.
            router: a function (async or plain) of the state returning a node name, a list
                of names, or ``END``; with a mapping ``targets``, a key of that mapping.
            targets: the possible destinations, as a list of node names or a mapping from
                router results to node names. Declaring them lets the graph be checked
                before it runs and lets joins know where the router can go.
        """
        if not callable(router):
            raise GraphDefinitionError(
                f"graph {self.name!r}: the router after {source!r} must be a function"
            )
        mapping: Mapping[Any, str] | None = None
        declared: frozenset[str] | None = None
        if isinstance(targets, Mapping):
            mapping = dict(targets)
            declared = frozenset(mapping.values())
        elif targets is not None:
            if isinstance(targets, str):
                targets = [targets]
            declared = frozenset(targets)
        self._routers.append(Router(source, router, is_async_callable(router), mapping, declared))
        self._plan = None
        return self

    def compile(
        self,
        *,
        interrupt_before: Sequence[str] | None = None,
        interrupt_after: Sequence[str] | None = None,
        max_steps: int | None = None,
        checkpointer: Checkpointer | None = None,
    ) -> StateGraph:
        """Validate the graph now and set run options. Returns the graph itself.

        Raises:
            GraphDefinitionError: naming the edge, node or breakpoint at fault.
            ConfigurationError: ``checkpointer`` is not a ``Checkpointer``.
        """
        if interrupt_before is not None:
            self.config.interrupt_before = list(interrupt_before)
        if interrupt_after is not None:
            self.config.interrupt_after = list(interrupt_after)
        if max_steps is not None:
            self.config.max_steps = max_steps
        if checkpointer is not None:
            self.config.checkpointer = _checked_checkpointer(self.name, checkpointer)
            _register_types(self.config.checkpointer, self._types)
        self._prepare()
        return self

    def _prepare(self) -> RunPlan:
        """The current plan and run options, rebuilt and re-validated when they changed."""
        plan = self._plan
        if plan is None:
            plan = self._plan = build_plan(
                self.name, self._nodes, self._edges, self._routers, self._reducers
            )
            self._breakpoints = None
            self._identity = None
        cfg = self.config
        options = (tuple(cfg.interrupt_before), tuple(cfg.interrupt_after), cfg.max_steps)
        run_plan = self._run_plan
        if options != self._breakpoints or run_plan is None:
            plan.check_breakpoints(options[0], options[1])
            if not isinstance(cfg.max_steps, int) or cfg.max_steps < 1:
                raise GraphDefinitionError(
                    f"graph {self.name!r}: config.max_steps must be a positive int, "
                    f"got {cfg.max_steps!r}"
                )
            run_plan = self._run_plan = RunPlan(
                plan, frozenset(options[0]), frozenset(options[1]), cfg.max_steps
            )
            self._breakpoints = options
        return run_plan

    # --- running --------------------------------------------------------------------------

    async def execute(
        self, inputs: Mapping[str, Any] | Command | None = None, *, thread_id: str | None = None
    ) -> GraphResult:
        """Run the graph to its end or to the next pause.

        Args:
            inputs: the initial state (a dict), or a ``Command`` resuming a pause. Without a
                checkpointer, a resume passes the paused snapshot as
                ``Command(update=result.final_state, resume=answer)``.
            thread_id: with a checkpointer, the stored thread to start or resume.

        Returns:
            A ``GraphResult``; ``is_interrupted`` tells whether the run paused.

        Raises:
            GraphDefinitionError: the graph is malformed (nothing has run).
            ResumeError: a resume that cannot be honoured (nothing has run).
            GraphRuntimeError: a node failed; the state before it is attached.
        """
        return await self._execute(inputs, thread_id=thread_id, emit=None)

    def execute_sync(
        self, inputs: Mapping[str, Any] | Command | None = None, *, thread_id: str | None = None
    ) -> GraphResult:
        """``execute`` for code that has no event loop running.

        Raises:
            SyncInEventLoopError: called from inside a running event loop (a notebook, an
                async web handler); ``await graph.execute(...)`` there instead.
            Everything ``execute`` raises.
        """
        import asyncio

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.execute(inputs, thread_id=thread_id))
        raise SyncInEventLoopError(
            f"graph {self.name!r}: execute_sync() cannot run inside a running event loop; "
            "use `await graph.execute(...)` there instead"
        )

    async def stream(
        self, inputs: Mapping[str, Any] | Command | None = None, *, thread_id: str | None = None
    ) -> AsyncIterator[Any]:
        """Run like ``execute`` and yield events as they happen.

        Yields ``NodeStartedEvent`` and ``NodeFinishedEvent`` per node, any event a node
        sends with ``emit()``, ``GraphInterruptedEvent`` when the run pauses, and finally
        ``GraphFinishedEvent`` with the final state (a resumable snapshot when paused).
        Errors are raised from the iterator after the events that preceded them.
        """
        import asyncio

        from locus.core.events import GraphFinishedEvent

        queue: asyncio.Queue[Any] = asyncio.Queue()
        done = object()

        async def run() -> GraphResult:
            try:
                return await self._execute(inputs, thread_id=thread_id, emit=queue.put_nowait)
            finally:
                queue.put_nowait(done)

        task = asyncio.ensure_future(run())
        try:
            while (event := await queue.get()) is not done:
                yield event
            result = task.result()
            yield GraphFinishedEvent(
                final_state=result.final_state,
                path=result.path,
                is_interrupted=result.is_interrupted,
            )
        finally:
            if not task.done():
                task.cancel()

    async def get_state(self, thread_id: str) -> ThreadState:
        """The latest stored state of a thread: values, pending interrupts, next nodes.

        Raises:
            ConfigurationError: the graph has no checkpointer.
            ThreadNotFoundError: no such thread.
        """
        from locus.multiagent.durable import thread_state

        return await thread_state(self._checkpointer(), thread_id)

    async def get_state_history(
        self, thread_id: str, limit: int | None = None
    ) -> list[ThreadState]:
        """Every stored checkpoint of a thread, newest first.

        Raises:
            ConfigurationError: the graph has no checkpointer.
            ThreadNotFoundError: no such thread.
        """
        from locus.multiagent.durable import thread_history

        return await thread_history(self._checkpointer(), thread_id, limit)

    async def submit(
        self,
        inputs: Mapping[str, Any] | Command,
        *,
        thread_id: str | None = None,
        priority: int = 0,
    ) -> str:
        """Store a run for a worker to carry out, and return its thread id at once.

        A ``Worker`` serving this graph (``locus worker MODULE:GRAPH``) runs it to its
        first pause or end; ``result`` waits for that. A ``Command(resume=...)`` stores
        answers to a paused thread the same way. Answers stored through the inbox are
        claimed first; then, on PostgreSQL and SQLite, higher ``priority`` (a Redis stream
        is first in, first out).

        Raises:
            InvalidInputError: the thread exists and is not finished (or, for a
                ``Command``, not paused), or it already has work queued.
            ThreadNotFoundError: a ``Command`` for a thread that does not exist.
            StateSerializationError: an input or answer cannot be stored (named).
            ConfigurationError: the graph has no checkpointer.
        """
        from locus.workers.submit import submit

        return await submit(self, inputs, thread_id=thread_id, priority=priority)

    async def result(
        self,
        thread_id: str,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - the documented API name
    ) -> ThreadState:
        """Wait until a submitted thread pauses or finishes, and return its state.

        Raises:
            RunFailedError: a worker gave up on it after ``config.max_retries``.
            ResultTimeoutError: no pause or end within ``timeout`` seconds.
            ThreadNotFoundError: no such thread and no work queued for it.
        """
        from locus.workers.submit import result

        return await result(self, thread_id, timeout=timeout)

    async def update_state(
        self,
        thread_id: str,
        values: Mapping[str, Any],
        *,
        as_node: str | None = None,
        actor: str | None = None,
    ) -> ThreadState:
        """Correct a stored thread's state before it continues: writes a new checkpoint.

        The thread keeps its status, pending interrupts and next nodes; the change is
        checked before anything is written and recorded in the thread's audit list
        (``actor``, ``as_node``, the keys, the time).

        Args:
            thread_id: the thread to change.
            values: state keys to set; a key with a reducer goes through it.
            as_node: the node the change is made in the name of (for reducers' errors and
                the audit record); must be a node of this graph.
            actor: who made the change, for the audit record.

        Returns:
            The thread's new latest state.

        Raises:
            ConfigurationError: the graph has no checkpointer.
            ThreadNotFoundError: no such thread.
            GraphMismatchError: the thread belongs to another graph.
            ResumeConflictError: an execution holds the thread right now.
            InvalidInputError, GraphDefinitionError, StateSerializationError, ReducerError:
                the change is not acceptable; nothing was written.
        """
        from locus.multiagent.durable import thread_state
        from locus.multiagent.edits import update_thread

        checkpointer = self._checkpointer()
        await update_thread(
            checkpointer,
            self._prepare().plan,
            float(self.config.lease_seconds),
            thread_id,
            values,
            as_node=as_node,
            actor=actor,
        )
        return await thread_state(checkpointer, thread_id)

    async def fork(
        self, thread_id: str, *, checkpoint: int, new_thread_id: str | None = None
    ) -> ThreadState:
        """Start a new thread from any stored checkpoint of ``thread_id``.

        The original is left untouched; the new thread is that checkpoint exactly (a pause
        there is a pause in the new thread, answerable on its own).

        Args:
            thread_id: the thread to copy from.
            checkpoint: the checkpoint's number, as in ``ThreadState.checkpoint`` (see
                ``get_state_history``).
            new_thread_id: the new thread's id; a random one by default.

        Returns:
            The new thread's state.

        Raises:
            ConfigurationError: the graph has no checkpointer.
            ThreadNotFoundError: no such thread or checkpoint.
            GraphMismatchError: the thread belongs to another graph.
            InvalidInputError: ``new_thread_id`` already exists.
        """
        from locus.multiagent.durable import thread_state
        from locus.multiagent.edits import fork_thread

        checkpointer = self._checkpointer()
        new_id = await fork_thread(
            checkpointer,
            self.name,
            float(self.config.lease_seconds),
            thread_id,
            checkpoint,
            new_thread_id,
        )
        return await thread_state(checkpointer, new_id)

    def _checkpointer(self) -> Checkpointer:
        checkpointer = self.config.checkpointer
        if checkpointer is None:
            raise ConfigurationError(
                f"graph {self.name!r} has no checkpointer; pass StateGraph(checkpointer=...)"
            )
        _checked_checkpointer(self.name, checkpointer)
        return checkpointer

    async def _execute(
        self,
        inputs: Mapping[str, Any] | Command | None,
        *,
        thread_id: str | None,
        emit: Callable[[Any], None] | None,
    ) -> GraphResult:
        run_plan = self._prepare()
        checkpointer = self.config.checkpointer
        if thread_id is not None or checkpointer is not None:
            if checkpointer is None:
                raise ConfigurationError(
                    f"graph {self.name!r}: thread_id={thread_id!r} needs a checkpointer; "
                    "pass StateGraph(checkpointer=...) or compile(checkpointer=...)"
                )
            # config.checkpointer is a plain attribute, so check it again where it is used
            _checked_checkpointer(self.name, checkpointer)
            from locus.multiagent.durable import ThreadRunner

            runner = ThreadRunner(
                checkpointer,
                self.name,
                float(self.config.lease_seconds),
                identity=self.identity(),
                on_change=self.on_graph_change,
            )
            return await runner.run(run_plan, inputs, thread_id, emit)
        run = Execution(run_plan, emit=emit, obs=open_run(self.name, None))
        if isinstance(inputs, Command):
            values, run_state = _from_snapshot(inputs)
            if inputs.has_resume:
                for p in run_state.pending:
                    if p.ask:
                        from locus.multiagent.answers import refuse_unallowed

                        refuse_unallowed(run_state, inputs, None)
                        break
            return await run.resume(values, run_state, inputs)
        if inputs is None:
            return await run.start({})
        if not isinstance(inputs, Mapping):
            raise InvalidInputError(
                f"graph {self.name!r}: execute() takes a dict of initial state or a Command, "
                f"got {type(inputs).__name__}"
            )
        if PAUSE_KEY in inputs:
            raise InvalidInputError(
                f"graph {self.name!r}: these inputs are a paused snapshot; resume it with "
                "graph.execute(Command(update=snapshot, resume=answer))"
            )
        return await run.start(dict(inputs))


def _register_types(checkpointer: Checkpointer | None, types: tuple[type, ...]) -> None:
    """Let ``checkpointer`` restore the graph's ``types`` (see ``Checkpointer.types``)."""
    if not types:
        return
    if checkpointer is None:
        from locus.checkpoint.types import TypeRegistry

        TypeRegistry(types)  # no checkpointer yet: check the classes now, register on compile
        return
    for cls in types:
        checkpointer.types.register(cls)


def _checked_checkpointer(graph: str, checkpointer: Any) -> Checkpointer | None:
    """``checkpointer`` itself when it is ``None`` or a ``Checkpointer``.

    Raises:
        ConfigurationError: naming the parameter and the type it got.
    """
    if checkpointer is None:
        return None
    # An instance of Checkpointer exists only once its module was imported, so a graph
    # without a checkpointer never pays for importing locus.checkpoint.
    base = sys.modules.get("locus.checkpoint.base")
    if base is None or not isinstance(checkpointer, base.Checkpointer):
        raise ConfigurationError(
            f"graph {graph!r}: checkpointer= must be a locus.checkpoint.Checkpointer (for "
            f"example SQLiteCheckpointer('locus.db')), got {type(checkpointer).__name__} "
            f"{checkpointer!r:.60}"
        )
    return cast("Checkpointer", checkpointer)


def _from_snapshot(command: Command) -> tuple[dict[str, Any], RunState]:
    """Split a resume Command's ``update`` into state values and the paused run state."""
    update = command.update
    if update is None or PAUSE_KEY not in update:
        raise NothingToResumeError(
            "nothing is paused: Command(resume=...) needs the paused snapshot, as in "
            "graph.execute(Command(update=result.final_state, resume=answer)), or a "
            "checkpointer and thread_id"
        )
    values = dict(update)
    marker = values.pop(PAUSE_KEY)
    return values, RunState.from_marker(marker)
