"""``Agent``: immutable configuration plus the ways to run it (stream, await, sync)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from pydantic import ValidationError

from locus.agent.config import AgentConfig
from locus.agent.loop import AgentRun
from locus.agent.output import OutputSchema, output_schema
from locus.agent.pause import AgentRunState, PendingApproval, decide
from locus.core.events import AgentEvent, StopReason
from locus.core.messages import Message, Usage
from locus.errors import ConfigurationError, UserError
from locus.models.base import Model, ModelSettings, ToolSpec
from locus.models.registry import infer_model
from locus.tools import Tool

__all__ = ["Agent", "AgentResult"]

OutputT = TypeVar("OutputT")


@dataclass(frozen=True, slots=True)
class AgentResult(Generic[OutputT]):
    """What a finished run produced.

    Attributes:
        text: the final answer (``""`` when the run stopped without one).
        final_message: the final answer, or ``None`` when there was none.
        stop_reason: ``"complete"``, ``"refusal"``, ``"max_iterations"`` or ``"paused"``.
        usage: tokens used by all of the run's model calls.
        iterations: how many times the model was called.
        events: every event the run streamed, ``TerminateEvent`` last.
        messages: the whole conversation, to pass as ``history`` for the next turn.
        refusal: the model's explanation when it declined to answer (``stop_reason``
            is then ``"refusal"`` and ``text`` is empty).
        output: for an agent with an ``output_type``, the final answer validated into that
            type; ``None`` otherwise (and when the run stopped at ``max_iterations``).
        pending_approvals: when the run stopped for approvals (``stop_reason ==
            "paused"``, outside a graph), the calls waiting for a person.
        state: then, what ``agent.resume(state, approvals=...)`` continues from.
    """

    text: str
    final_message: str | None
    stop_reason: StopReason
    usage: Usage
    iterations: int
    events: tuple[AgentEvent, ...]
    messages: tuple[Message, ...]
    refusal: str | None = None
    output: OutputT | None = None
    pending_approvals: tuple[PendingApproval, ...] = ()
    state: AgentRunState | None = None

    @property
    def paused(self) -> bool:
        """Whether the run stopped for approvals and can be resumed."""
        return self.state is not None


class Agent:
    """A model with instructions and tools that answers prompts, calling tools as needed.

    An ``Agent`` is immutable: nothing about a run is stored on it, so one agent serves
    many concurrent runs. Build one from a config or from the same fields as keywords::

        Agent(config=AgentConfig(agent_id="triage", model="mock", system_prompt="..."))
        Agent(model="mock", system_prompt="...", tools=[lookup_order])

    Each run calls the model, then the tools it asked for (concurrently when several),
    then the model again, until it answers without tool calls or ``max_iterations``
    model calls were made.
    """

    __slots__ = ("_output", "_settings", "_specs", "_tools", "config", "model")

    config: AgentConfig
    model: Model
    _tools: Mapping[str, Tool]
    _specs: tuple[ToolSpec, ...]
    _settings: ModelSettings
    _output: OutputSchema | None

    def __init__(self, config: AgentConfig | None = None, **settings: Any) -> None:
        """Build an agent from ``config`` or from ``AgentConfig`` fields as keywords.

        Raises:
            ConfigurationError: for invalid settings (naming the agent and the field), or
                when both ``config`` and keywords are given.
            UnknownModelError: when the model string's provider is unknown.
            MissingDependencyError: when the model's provider SDK is not installed.
            ToolDefinitionError: when a tool cannot be made from a function.
        """
        if config is None:
            config = AgentConfig(**settings)
        elif settings:
            raise ConfigurationError(
                f"agent {config.agent_id!r}: pass either config= or settings as keywords, not "
                f"both (got config= and {', '.join(sorted(settings))}); use agent.replace(...) "
                "to derive an agent with changed settings"
            )
        elif not isinstance(config, AgentConfig):
            raise ConfigurationError(
                f"Agent(config=...) needs an AgentConfig, got {type(config).__name__}"
            )
        set_ = object.__setattr__
        set_(self, "config", config)
        set_(self, "model", infer_model(config.model))
        set_(self, "_tools", MappingProxyType({t.name: t for t in config.tools}))
        set_(self, "_specs", tuple(t.spec for t in config.tools))
        output_type = config.output_type
        set_(self, "_output", output_schema(output_type) if output_type is not None else None)
        set_(
            self,
            "_settings",
            ModelSettings(
                max_tokens=config.max_tokens,
                temperature=config.temperature,
                timeout=config.timeout,
                extra=dict(config.model_settings),
            ),
        )

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError(
            f"Agent {self.config.agent_id!r} is immutable; use agent.replace({key}=...)"
        )

    def __repr__(self) -> str:
        return f"Agent(agent_id={self.config.agent_id!r}, model={self.model.name!r})"

    @property
    def agent_id(self) -> str:
        """The agent's id, as in its config."""
        return self.config.agent_id

    @property
    def tools_by_name(self) -> Mapping[str, Tool]:
        """The agent's tools by name (read-only)."""
        return self._tools

    @property
    def tool_specs(self) -> tuple[ToolSpec, ...]:
        """What the model is told about each tool."""
        return self._specs

    @property
    def output_schema(self) -> OutputSchema | None:
        """How final answers are asked for and validated, when ``output_type`` is set."""
        return self._output

    @property
    def model_settings(self) -> ModelSettings:
        """The settings sent with every model request."""
        return self._settings

    def replace(self, **changes: Any) -> Agent:
        """A new agent with some settings changed; this one is unchanged.

        Raises:
            ConfigurationError: for invalid settings, as ``AgentConfig`` does.
        """
        data = {name: getattr(self.config, name) for name in AgentConfig.model_fields}
        if "model" not in changes:
            data["model"] = self.model
        return Agent(config=AgentConfig(**{**data, **changes}))

    def run(
        self, prompt: str, *, history: Iterable[Message | Mapping[str, Any]] = ()
    ) -> AsyncGenerator[AgentEvent, None]:
        """Stream one run's events, ending with a ``TerminateEvent``.

        Per iteration: ``ModelRequestEvent``, ``TextDeltaEvent``s, ``ModelResponseEvent``,
        then a ``ToolCallEvent`` per requested tool and their ``ToolResultEvent``s (in the
        order the model asked, after all of them finished).
        Outside a graph node, a turn whose tools need approval ends the stream with a
        ``TerminateEvent`` whose ``stop_reason`` is ``"paused"`` and whose ``state`` and
        ``pending_approvals`` are what ``resume`` needs (see ``arun``).

        Args:
            prompt: the user's message for this turn.
            history: earlier messages (e.g. a previous ``AgentResult.messages``). The
                system prompt is added first unless the history has a system message.

        Raises:
            UserError: (at once) when ``prompt`` is not a string or a history item is not
                a valid message.
            Exception: while iterating, a model failure is reported in a ``TerminateEvent``
                with ``stop_reason="error"`` and then raised as it was.
        """
        return AgentRun(self, self._conversation(prompt, history)).events()

    async def arun(
        self, prompt: str, *, history: Iterable[Message | Mapping[str, Any]] = ()
    ) -> AgentResult[Any]:
        """Run to the end and return the result (events collected).

        Outside a graph node, when the model asks for tools that need a person's approval,
        the run stops before running any tool of that turn: the result's ``stop_reason``
        is ``"paused"``, ``pending_approvals`` lists the calls and ``state`` resumes the
        run with ``resume`` (in any process: ``state.to_json()``). Inside a graph node the
        graph pauses instead, as with ``interrupt()``.

        Raises:
            UserError: for a bad ``prompt`` or ``history``, as ``run`` does.
            OutputValidationError: the final answer failed ``output_type`` after
                ``output_retries`` more attempts (naming the field at fault).
            Exception: the model's failure, as it was raised.
        """
        return await _collect(AgentRun(self, self._conversation(prompt, history)))

    async def resume(
        self,
        state: AgentRunState | str | bytes | Mapping[str, Any],
        *,
        approvals: Mapping[str, Any],
    ) -> AgentResult[Any]:
        """Continue a run that stopped for approvals, with a person's answers.

        The tools of the stopped turn run (each once; a rejected one is not run and the
        model reads the rejection as its result), then the run goes on as ``arun`` would,
        and may stop for approvals again. The model is not asked again for the turn that
        requested the tools.

        Args:
            state: ``result.state`` of the paused run, or what its ``to_json()`` wrote.
            approvals: an answer per pending ``call_id``: ``True``/``"approve"``,
                ``False``/``"reject"``, or ``{"approved": bool, "message": str,
                "arguments": {...}}`` (approve with edited arguments, or reject with a
                message for the model).

        Raises:
            InvalidAgentStateError: the state is malformed or another agent's.
            SchemaVersionError: the state was written in an unknown format version.
            MissingResumeError: a pending call has no answer.
            UnknownInterruptError: an answer names a call that is not pending.
            InvalidResumeValueError: an answer is not an approval.
            Exception: the model's failure, as in ``arun``.
        """
        if not isinstance(state, AgentRunState):
            state = AgentRunState.from_json(state)
        if not isinstance(approvals, Mapping):
            raise UserError(
                f"agent {self.agent_id!r}: approvals must be a dict of call_id -> answer, "
                f"got {type(approvals).__name__}"
            )
        decided = decide(self.agent_id, state, approvals)
        return await _collect(AgentRun.resumed(self, state, decided))

    def run_sync(
        self, prompt: str, *, history: Iterable[Message | Mapping[str, Any]] = ()
    ) -> AgentResult[Any]:
        """``arun`` for code without an event loop.

        Raises:
            UserError: when called while an event loop is running (use ``await arun``),
                or for a bad ``prompt``/``history``.
            Exception: the model's failure, as it was raised.
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.arun(prompt, history=history))
        raise UserError(
            f"agent {self.agent_id!r}: run_sync() cannot run inside a running event loop; "
            "use `await agent.arun(...)` instead"
        )

    def _conversation(
        self, prompt: str, history: Iterable[Message | Mapping[str, Any]]
    ) -> list[Message]:
        if not isinstance(prompt, str):
            raise UserError(
                f"agent {self.agent_id!r}: prompt must be a str, got {type(prompt).__name__}"
            )
        messages: list[Message] = []
        for index, item in enumerate(history):
            if isinstance(item, Message):
                messages.append(item)
                continue
            try:
                messages.append(Message.model_validate(item))
            except ValidationError as exc:
                raise UserError(
                    f"agent {self.agent_id!r}: history[{index}] is not a valid message: "
                    f"{exc.errors(include_url=False)[0]['msg']} (got {item!r:.80})"
                ) from None
        system = self.config.system_prompt
        if system and not any(m.role == "system" for m in messages):
            messages.insert(0, Message.system(system))
        messages.append(Message.user(prompt))
        return messages


async def _collect(run: AgentRun) -> AgentResult[Any]:
    events = [event async for event in run.events()]
    end = run.terminate
    assert end is not None  # events() always finishes with a TerminateEvent
    return AgentResult(
        text=end.final_message or "",
        final_message=end.final_message,
        stop_reason=end.stop_reason,
        usage=end.usage,
        iterations=end.iterations,
        events=tuple(events),
        messages=tuple(run.messages),
        refusal=end.refusal,
        output=run.output,
        pending_approvals=run.pending,
        state=run.state,
    )
