"""The agent loop: call the model, run the tools it asked for, repeat; stream events.

One ``AgentRun`` holds everything about one run (the conversation so far, tokens used,
the iteration), so an ``Agent`` stays immutable and serves many concurrent runs.

The model is called in exactly one place (``call_model``) and tools in exactly one place
(``call_tool``): a journal that records and replays those calls wraps these two seams.
Tool-call ids from the model are untrusted: each turn's calls are re-keyed to distinct ids
in one place (``locus.agent.call_ids``) before anything sees them, and inside the loop a
call's approval and result follow its position in the turn, never its id.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pydantic_core

from locus.agent.approval import (
    DEFAULT_REJECTION,
    ToolApproval,
    ToolApprovalAnswer,
    approval_payload,
)
from locus.agent.call_ids import CallIds
from locus.agent.output import InvalidOutput, OutputSchema
from locus.agent.pause import AgentRunState, PendingApproval
from locus.core.events import (
    AgentEvent,
    ModelRequestEvent,
    ModelResponseEvent,
    StopReason,
    TerminateEvent,
    TextDeltaEvent,
    ToolCallEvent,
    ToolResultEvent,
)
from locus.core.interrupt import _CURRENT, interrupt_many
from locus.core.journal import fingerprint, fingerprint_bytes, journal_counter, lookup, record
from locus.core.messages import Message, ToolCall, Usage
from locus.errors import AgentError, OutputValidationError, ToolArgumentsError, UserError
from locus.mcp.connection import MCPToolset, open_toolset
from locus.models.base import (
    Model,
    ModelRequest,
    ModelResponse,
    ModelSettings,
    StreamItem,
    TextDelta,
)
from locus.observe.hooks import active
from locus.tools import Tool

if TYPE_CHECKING:
    from locus.agent.agent import Agent

__all__ = ["AgentRun", "ToolOutcome", "call_model", "call_tool", "render_result"]


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    """What one tool call produced, as sent back to the model."""

    content: str
    is_error: bool = False


_NO_OUTPUT: dict[int, set[str]] = {1: {"output"}}


async def call_model(
    model: Model, request: ModelRequest, *, journal: bool = True
) -> AsyncIterator[StreamItem]:
    """The seam where an agent calls its model: text deltas, then one ``ModelResponse``.

    Inside a running graph node (and with ``journal``), the call is recorded in the node's
    journal; when the node re-runs on resume, the recorded response is replayed instead of
    calling the model again.

    Raises:
        ReplayMismatchError: on replay, the request differs from the recorded one.
    """
    obs = active()
    observed = obs.model_call(model.name, request) if obs is not None else None
    try:
        ctx = _CURRENT.get() if journal else None
        if ctx is None:
            async for item in model.stream(request):
                if observed is not None and isinstance(item, ModelResponse):
                    observed.responded(item)
                yield item
            return
        n = journal_counter(ctx, "model")
        key = f"model:{n}"
        # Without an output schema the request prints as it did before ``output`` existed,
        # so journals recorded by earlier releases still replay.
        exclude = _NO_OUTPUT if request.output is None else None
        print_ = fingerprint_bytes(pydantic_core.to_json([model.name, request], exclude=exclude))
        last = request.messages[-1].content[:60] if request.messages else ""
        about = f"model call #{n} to {model.name} (last message {last!r})"
        entry = lookup(ctx, key, print_, about)
        if entry is not None:
            response = ModelResponse.model_validate(entry["result"])
            if observed is not None:
                observed.responded(response, replayed=True)
            if response.message.content:
                yield TextDelta(text=response.message.content)
            yield response
            return
        async for item in model.stream(request):
            if isinstance(item, ModelResponse):
                record(ctx, key, print_, about, item.model_dump(mode="json"))
                if observed is not None:
                    observed.responded(item)
            yield item
    except BaseException as exc:
        if observed is not None:
            observed.failed(exc)
        raise
    finally:
        if observed is not None:
            observed.end()


async def call_tool(
    tools: Mapping[str, Tool], call: ToolCall, journal_key: str | None = None
) -> ToolOutcome:
    """The seam where an agent runs one tool call; never raises for a tool's own failure.

    An unknown tool name, arguments that fail the tool's schema, and any ``Exception``
    the tool raises become an error outcome the model can read and act on. With a
    ``journal_key`` (inside a graph node) the outcome is recorded, and a re-run of the node
    gets the recorded outcome: the tool runs once.

    Raises:
        UserError: raised by the tool (misuse such as ``interrupt()`` outside a graph node
            is a bug to fix, not something for the model to work around).
        ReplayMismatchError: on replay, the call differs from the recorded one.
        BaseException: non-``Exception`` signals (cancellation, a graph ``interrupt()``)
            pass through untouched.
    """
    obs = active()
    observed = obs.tool_call(call) if obs is not None else None
    try:
        ctx = _CURRENT.get() if journal_key is not None else None
        replayed = False
        if ctx is None or journal_key is None:
            outcome = await _run_tool(tools, call)
        else:
            print_ = fingerprint([call.name, call.arguments])
            about = f"tool call {call.name}({_short_args(call.arguments)})"
            entry = lookup(ctx, journal_key, print_, about)
            if entry is not None:
                replayed = True
                outcome = ToolOutcome(entry["result"]["content"], entry["result"]["is_error"])
            else:
                outcome = await _run_tool(tools, call)
                result = {"content": outcome.content, "is_error": outcome.is_error}
                record(ctx, journal_key, print_, about, result)
        if observed is not None:
            observed.done(outcome.content, outcome.is_error, replayed=replayed)
        return outcome
    except BaseException as exc:
        if observed is not None:
            observed.failed(exc)
        raise
    finally:
        if observed is not None:
            observed.end()


async def _run_tool(tools: Mapping[str, Tool], call: ToolCall) -> ToolOutcome:
    tool = tools.get(call.name)
    if tool is None:
        available = ", ".join(sorted(tools)) or "none"
        return ToolOutcome(f"Error: unknown tool {call.name!r}; available tools: {available}", True)
    try:
        value = await tool.call(call.arguments)
    except ToolArgumentsError as exc:
        return ToolOutcome(f"Error: {exc}", True)
    except UserError:
        raise
    except Exception as exc:
        return ToolOutcome(f"Error: tool {call.name!r} raised {type(exc).__name__}: {exc}", True)
    return ToolOutcome(render_result(value))


def _short_args(arguments: Mapping[str, Any]) -> str:
    text = pydantic_core.to_json(arguments, fallback=repr).decode()
    return text if len(text) <= 80 else text[:77] + "..."


def render_result(value: Any) -> str:
    """A tool's return value as text for the model: strings as they are, the rest as JSON."""
    if isinstance(value, str):
        return value
    return pydantic_core.to_json(value, fallback=repr).decode()


class AgentRun:
    """The state of one run of an agent: its conversation, usage and iteration count.

    Iterate ``events()`` once. ``messages`` then holds the whole conversation (for a next
    turn's ``history``), ``terminate`` the run's last event and ``output`` the validated
    final answer when the agent has an ``output_type``. A run outside a graph node that
    stopped for approvals holds them in ``pending`` and its resumable ``state``.
    """

    __slots__ = (
        "_resumed",
        "agent",
        "iteration",
        "messages",
        "output",
        "pending",
        "retries",
        "state",
        "terminate",
        "usage",
    )

    def __init__(self, agent: Agent, messages: list[Message]) -> None:
        self.agent = agent
        self.messages = messages
        self.usage = Usage()
        self.iteration = 0
        self.retries = 0  # typed-output retries used; they do not use up max_iterations
        self.terminate: TerminateEvent | None = None
        self.output: Any = None
        self.pending: tuple[PendingApproval, ...] = ()
        self.state: AgentRunState | None = None
        self._resumed: list[ToolApproval | None] | None = None

    @classmethod
    def resumed(
        cls, agent: Agent, state: AgentRunState, decided: Mapping[str, ToolApproval]
    ) -> AgentRun:
        """A run that continues ``state`` by running its last turn's tools with the
        decisions given (by call id; calls that needed none run as asked)."""
        run = cls(agent, list(state.messages))
        run.usage = state.usage
        run.iteration = state.iterations
        run.retries = state.output_retries_used
        run._resumed = [decided.get(call.id) for call in state.turn]
        return run

    def events(self) -> AsyncGenerator[AgentEvent, None]:
        """Run the loop, yielding each event; ``TerminateEvent`` is always the last.

        When the model (or a tool, with a ``UserError``) fails, a ``TerminateEvent`` with
        ``stop_reason="error"`` is yielded and then the original exception is raised.
        Inside a graph node that is being streamed (``graph.stream``), every event also
        goes to the graph's stream.
        """
        ctx = _CURRENT.get()
        if ctx is None or ctx.emit is None:
            return self._events()
        return self._forwarded(ctx.emit)

    async def _forwarded(self, emit: Callable[[Any], None]) -> AsyncGenerator[AgentEvent, None]:
        async for event in self._events():
            emit(event)
            yield event

    async def _events(self) -> AsyncGenerator[AgentEvent, None]:
        agent = self.agent
        config = agent.config
        agent_id = config.agent_id
        model = agent.model
        tools = agent.tools_by_name
        specs = agent.tool_specs
        tool_names = tuple(tools)
        settings: ModelSettings = agent.model_settings
        journal = config.journal
        output = agent.output_schema
        last_text: str | None = None
        mcp: MCPToolset | None = None
        call_ids: CallIds | None = None  # built at the first tool call: text-only runs skip it
        # Outside a graph node there is nothing to pause: approvals stop the run instead.
        standalone = _CURRENT.get() is None
        parallel = config.parallel_tool_calls
        try:
            if config.mcp_servers:
                mcp = await open_toolset(agent_id, config.mcp_servers, tools)
                tools, specs, tool_names = mcp.tools, mcp.specs, tuple(mcp.tools)
            if self._resumed is not None:
                turn = self.messages[-1].tool_calls
                resumed, self._resumed = self._resumed, None
                async for event in self._tool_turn(tools, turn, resumed, parallel, journal):
                    yield event
            while self.iteration < config.max_iterations + self.retries:
                self.iteration += 1
                iteration = self.iteration
                request = ModelRequest(
                    messages=tuple(self.messages),
                    tools=specs,
                    settings=settings,
                    output=output.spec if output is not None else None,
                )
                yield ModelRequestEvent(
                    agent_id=agent_id,
                    iteration=iteration,
                    model=model.name,
                    messages=request.messages,
                    tools=tool_names,
                )
                response: ModelResponse | None = None
                async for item in call_model(model, request, journal=journal):
                    if isinstance(item, ModelResponse):
                        response = item
                    else:
                        yield TextDeltaEvent(agent_id=agent_id, iteration=iteration, text=item.text)
                if response is None:
                    raise AgentError(
                        f"agent {agent_id!r}: model {model.name!r} ended its stream "
                        "without a ModelResponse"
                    )
                message = response.message
                if message.tool_calls:
                    if call_ids is None:
                        call_ids = CallIds(self.messages)
                    message = call_ids.rekey(message)
                self.usage = self.usage + response.usage
                self.messages.append(message)
                yield ModelResponseEvent(
                    agent_id=agent_id,
                    iteration=iteration,
                    message=message,
                    usage=response.usage,
                    finish_reason=response.finish_reason,
                    model=response.model_name or model.name,
                    refusal=response.refusal,
                    reasoning=response.reasoning,
                )
                last_text = message.content or None
                calls = message.tool_calls
                if not calls:
                    if response.refusal is not None:
                        yield self._finish(last_text, "refusal", refusal=response.refusal)
                        return
                    if output is None:
                        yield self._finish(last_text, "complete")
                        return
                    try:
                        self.output = output.parse(message.content)
                    except InvalidOutput as exc:
                        if self.retries >= config.output_retries:
                            raise _output_error(agent_id, output, exc, self.retries) from None
                        self.retries += 1
                        self.messages.append(Message.user(output.retry_prompt(exc.problem)))
                        continue
                    yield self._finish(last_text, "complete")
                    return
                for call in calls:
                    yield ToolCallEvent(agent_id=agent_id, iteration=iteration, tool_call=call)
                decided: list[ToolApproval | None] | None = None  # None: ask inside the graph
                if standalone:
                    asking = _asking(tools, calls)
                    if asking:
                        yield self._pause([calls[p] for p in asking])
                        return
                    decided = [None] * len(calls)
                async for event in self._tool_turn(tools, calls, decided, parallel, journal):
                    yield event
        except Exception as exc:
            yield self._finish(None, "error", f"{type(exc).__name__}: {exc}")
            raise
        finally:
            if mcp is not None:
                await mcp.aclose()
        yield self._finish(last_text, "max_iterations")

    async def _tool_turn(
        self,
        tools: Mapping[str, Tool],
        calls: Sequence[ToolCall],
        decided: list[ToolApproval | None] | None,
        parallel: bool,
        journal: bool,
    ) -> AsyncGenerator[AgentEvent, None]:
        """Run one turn's tools and add their results to the conversation."""
        outcomes = await self._run_tools(tools, calls, parallel, journal, decided)
        agent_id = self.agent.config.agent_id
        for call, outcome in zip(calls, outcomes, strict=True):
            self.messages.append(
                Message(
                    role="tool",
                    content=outcome.content,
                    tool_calls=(),
                    tool_call_id=call.id,
                    name=call.name,
                )
            )
            yield ToolResultEvent(
                agent_id=agent_id,
                iteration=self.iteration,
                tool_call_id=call.id,
                tool_name=call.name,
                content=outcome.content,
                is_error=outcome.is_error,
            )

    def _pause(self, asking: Sequence[ToolCall]) -> TerminateEvent:
        """Stop a standalone run for approvals: what is pending, and the state to resume."""
        agent_id = self.agent.config.agent_id
        self.pending = tuple(PendingApproval.of(agent_id, call) for call in asking)
        self.state = AgentRunState(
            agent_id=agent_id,
            messages=tuple(self.messages),
            usage=self.usage,
            iterations=self.iteration,
            output_retries_used=self.retries,
            pending=self.pending,
        )
        return self._finish(None, "paused")

    def _finish(
        self,
        text: str | None,
        reason: StopReason,
        error: str | None = None,
        *,
        refusal: str | None = None,
    ) -> TerminateEvent:
        self.terminate = TerminateEvent(
            agent_id=self.agent.config.agent_id,
            final_message=text,
            stop_reason=reason,
            usage=self.usage,
            iterations=self.iteration,
            error=error,
            refusal=refusal,
            output=self.output,
            pending_approvals=self.pending,
            state=self.state,
        )
        return self.terminate

    async def _run_tools(
        self,
        tools: Mapping[str, Tool],
        calls: Sequence[ToolCall],
        parallel: bool,
        journal: bool,
        decided: list[ToolApproval | None] | None = None,
    ) -> list[ToolOutcome]:
        ctx = _CURRENT.get() if journal else None
        # journal keys are taken in call order before anything runs: deterministic on replay
        keys: list[str | None] = (
            [f"tool:{journal_counter(ctx, 'tool')}" for _ in calls]
            if ctx is not None
            else [None] * len(calls)
        )
        decisions = decided if decided is not None else self._approvals(tools, calls)
        # Decisions and outcomes follow each call's position in the turn, never its id.
        runs: list[tuple[ToolCall, str | None]] = []
        ran: list[int] = []
        outcomes: list[ToolOutcome | None] = []
        for position, (call, key, decision) in enumerate(zip(calls, keys, decisions, strict=True)):
            if decision is not None and not decision.approved:
                outcomes.append(ToolOutcome(decision.message or DEFAULT_REJECTION, True))
                continue
            if decision is not None and decision.arguments is not None:
                call = call.model_copy(update={"arguments": decision.arguments})
            runs.append((call, key))
            ran.append(position)
            outcomes.append(None)
        results = await _run_calls(tools, runs, parallel)
        for position, outcome in zip(ran, results, strict=True):
            outcomes[position] = outcome
        return [outcome for outcome in outcomes if outcome is not None]

    def _approvals(
        self, tools: Mapping[str, Tool], calls: Sequence[ToolCall]
    ) -> list[ToolApproval | None]:
        """Ask a human about every call that needs approval, all in one pause.

        Returns one entry per call, in order: its decision, or ``None`` when it needs none.
        Each asked call has its own interrupt (and interrupt id), and its answer is matched
        to it by position, so two calls can never share a decision.
        """
        asking = _asking(tools, calls)
        decisions: list[ToolApproval | None] = [None] * len(calls)
        if not asking:
            return decisions
        agent_id = self.agent.config.agent_id
        answers = interrupt_many(
            [approval_payload(agent_id, calls[p]) for p in asking],
            response_schema=ToolApprovalAnswer,
        )
        for position, answer in zip(asking, answers, strict=True):
            decisions[position] = ToolApproval.of(answer)
        return decisions


def _asking(tools: Mapping[str, Tool], calls: Sequence[ToolCall]) -> list[int]:
    """The positions of the calls that need a person's approval."""
    return [
        position
        for position, c in enumerate(calls)
        if (t := tools.get(c.name)) and t.needs_approval(c.arguments)
    ]


def _output_error(
    agent_id: str, output: OutputSchema, exc: InvalidOutput, retries: int
) -> OutputValidationError:
    problem = exc.problem
    attempts = retries + 1
    return OutputValidationError(
        f"agent {agent_id!r}: the model's answer does not match output_type "
        f"{output.spec.name!r} at field {problem.field!r} after {attempts} "
        f"attempt{'s' if attempts > 1 else ''} ({problem.summary()}); raise output_retries, "
        "make the instructions clearer, or loosen the type",
        agent_id=agent_id,
        field=problem.field,
        problems=problem.problems,
        text=exc.text,
    )


async def _run_calls(
    tools: Mapping[str, Tool], runs: Sequence[tuple[ToolCall, str | None]], parallel: bool
) -> list[ToolOutcome]:
    if len(runs) <= 1 or not parallel:
        return [await call_tool(tools, call, key) for call, key in runs]
    # The first call runs in this task and the others in new tasks, which start as soon
    # as the first one waits on anything: concurrent, with one task fewer to schedule.
    others = [asyncio.ensure_future(call_tool(tools, call, key)) for call, key in runs[1:]]
    try:
        first = await call_tool(tools, *runs[0])
        return [first, *await asyncio.gather(*others)]
    except BaseException:
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        raise
