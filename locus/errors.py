"""Every error locus raises on purpose, in one tree.

Catch ``LocusError`` to catch them all. Errors a caller causes by misusing the API
(``UserError``) are kept apart from failures while a run is underway
(``GraphRuntimeError``, ``AgentError``), from a model provider's failures
(``ModelProviderError``) and from storage failures (``CheckpointError``)::

    LocusError
    ├── UserError                       misuse, raised before anything runs
    │   ├── GraphDefinitionError        unknown node, duplicate name, no entry from START, ...
    │   ├── InvalidInputError           graph.execute got an input it cannot use
    │   ├── InterruptOutsideNodeError   interrupt() called outside a running graph node
    │   ├── ConfigurationError          missing credentials, bad settings
    │   │   ├── UnknownModelError       a model string with an unknown prefix
    │   │   └── MissingDependencyError  an optional extra is not installed
    │   ├── ToolDefinitionError         a function that cannot become a tool
    │   ├── CheckpointUsageError        a checkpointer called with a bad argument
    │   └── SyncInEventLoopError        a blocking *_sync call made inside a running event loop
    ├── ResumeError                     a resume that cannot be honoured; nothing ran
    │   ├── NothingToResumeError        no pause to resume (no snapshot, nothing pending)
    │   ├── UnknownInterruptError       an interrupt id that is not pending
    │   ├── AmbiguousResumeError        one plain answer while several interrupts are pending
    │   ├── MissingResumeError          a pending interrupt() got no answer
    │   ├── ResumeTargetError           the pause names a node this graph does not have
    │   ├── InvalidResumeValueError     an answer that fails the interrupt's response schema
    │   ├── InvalidAgentStateError      a saved agent run state is malformed or another agent's
    │   ├── ThreadNotFoundError         no stored thread with that id
    │   ├── GraphMismatchError          the thread was stored by another graph, or version of it
    │   ├── AnswerNotAllowedError       the actor is not among the interrupt's answerers
    │   ├── StaleAnswerError            the payload changed since the reviewer saw it
    │   ├── InterruptExpiredError       the interrupt's deadline passed and it expired
    │   └── ResumeConflictError         another execution holds the thread
    │       └── AlreadyAnsweredError    the interrupt already has its answer (who, when)
    ├── GraphRuntimeError               a run failed part-way; state so far is attached
    │   ├── NodeExecutionError          a node raised (original chained as __cause__)
    │   ├── InvalidNodeOutputError      a node returned something other than dict/None/Command
    │   ├── StateConflictError          two branches wrote one key in one step, no reducer
    │   ├── GraphRecursionError         more than max_steps steps (a loop that never ends)
    │   ├── ReducerError                a reducer raised while merging a node's update
    │   ├── ReplayMismatchError         a resumed node asked for other calls than it recorded
    │   ├── NodeTimeoutError            a node ran past node_timeout in a worker
    │   ├── RunFailedError              a worker gave up on a run after its retries
    │   └── ResultTimeoutError          graph.result() waited longer than its timeout
    ├── AgentError                      an agent run could not proceed
    │   ├── ToolArgumentsError          a tool got arguments that fail its schema
    │   ├── OutputValidationError       the final answer failed output_type after the retries
    │   ├── MCPError                    an MCP server could not be started, reached or called
    │   └── MockScriptError             a scripted mock called past its script or left steps
    ├── ModelProviderError              a provider call failed (status code and message kept)
    │   ├── ProviderAuthenticationError 401/403, bad or expired credentials
    │   ├── RateLimitError              429, retried until the budget runs out
    │   ├── QuotaExceededError          429 insufficient_quota: a billing limit, never retried
    │   ├── BadRequestError             400/404/422, never retried
    │   ├── ProviderUnavailableError    5xx and dropped connections, retried
    │   └── ProviderTimeoutError        the request timed out, retried
    ├── NotificationError               a notifier could not deliver; retried, reason kept
    └── CheckpointError                 a checkpointer could not load or save
        ├── StateSerializationError     a value that cannot be stored (key path and type named)
        ├── SchemaVersionError          a stored record of an unknown schema version
        ├── UnknownStoredTypeError      stored data names a class that was never registered
        └── StoreUnavailableError       the store cannot be reached (the server's reason kept)
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AgentError",
    "AlreadyAnsweredError",
    "AmbiguousResumeError",
    "AnswerNotAllowedError",
    "BadRequestError",
    "CheckpointError",
    "CheckpointUsageError",
    "ConfigurationError",
    "GraphDefinitionError",
    "GraphMismatchError",
    "GraphRecursionError",
    "GraphRuntimeError",
    "InterruptExpiredError",
    "InterruptOutsideNodeError",
    "InvalidAgentStateError",
    "InvalidInputError",
    "InvalidNodeOutputError",
    "InvalidResumeValueError",
    "LocusError",
    "MCPError",
    "MissingDependencyError",
    "MissingResumeError",
    "MockScriptError",
    "ModelProviderError",
    "NodeExecutionError",
    "NodeTimeoutError",
    "NothingToResumeError",
    "NotificationError",
    "OutputValidationError",
    "ProviderAuthenticationError",
    "ProviderTimeoutError",
    "ProviderUnavailableError",
    "QuotaExceededError",
    "RateLimitError",
    "ReducerError",
    "ReplayMismatchError",
    "ResultTimeoutError",
    "ResumeConflictError",
    "ResumeError",
    "ResumeTargetError",
    "RunFailedError",
    "SchemaVersionError",
    "StaleAnswerError",
    "StateConflictError",
    "StateSerializationError",
    "StoreUnavailableError",
    "SyncInEventLoopError",
    "ThreadNotFoundError",
    "ToolArgumentsError",
    "ToolDefinitionError",
    "UnknownInterruptError",
    "UnknownModelError",
    "UnknownStoredTypeError",
    "UserError",
]


class LocusError(Exception):
    """Root of every error locus raises on purpose."""


# --- misuse -------------------------------------------------------------------------------


class UserError(LocusError):
    """The API was used in a way it does not support; raised before anything runs."""


class GraphDefinitionError(UserError):
    """A graph is malformed: unknown node, duplicate name, no entry from START, and so on."""


class InvalidInputError(UserError, TypeError):
    """``graph.execute`` got an input it cannot use (wrong type, snapshot outside a Command)."""


class InterruptOutsideNodeError(UserError, RuntimeError):
    """``interrupt()`` (or another node-only helper) was called outside a running graph node."""


class ConfigurationError(UserError):
    """Settings are missing or wrong: credentials, environment variables, option values."""


class UnknownModelError(ConfigurationError, ValueError):
    """A model string names a provider locus does not know."""


class MissingDependencyError(ConfigurationError, ImportError):
    """An optional SDK is not installed; the message names the extra to install."""


class ToolDefinitionError(UserError, TypeError):
    """A function cannot be turned into a tool (unsupported signature, duplicate name)."""


# --- resume -------------------------------------------------------------------------------


class ResumeError(LocusError):
    """A resume request cannot be honoured. Nothing ran and nothing stored was changed."""


class NothingToResumeError(ResumeError):
    """There is no pause to resume: no snapshot marker, or a thread with nothing pending."""


class UnknownInterruptError(ResumeError, KeyError):
    """A resume names an interrupt id that is not pending."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class AmbiguousResumeError(ResumeError):
    """A single plain answer was given while several interrupts are pending."""


class MissingResumeError(ResumeError):
    """A pending ``interrupt()`` was resumed without an answer."""


class ResumeTargetError(ResumeError):
    """A pause or ``goto`` names a node this graph does not have."""


class InvalidResumeValueError(ResumeError, ValueError):
    """An answer does not match the interrupt's ``response_schema``; the pause stays pending."""


class InvalidAgentStateError(ResumeError):
    """A saved agent run state (``AgentRunState``) is malformed, lists calls its last turn
    did not ask for, or is resumed with another agent than the one that paused."""


class ThreadNotFoundError(ResumeError, LookupError):
    """No stored thread has this id."""


class GraphMismatchError(ResumeError):
    """A stored thread belongs to a graph of another name, or to another version of this
    graph (its ``on_graph_change`` policy refused it); nothing was run or changed."""


class ResumeConflictError(ResumeError):
    """Another execution of the same thread is underway or resumed it first."""


class AnswerNotAllowedError(ResumeError, PermissionError):
    """The actor may not answer this interrupt (not among its answerers, or excluded).

    Only the refusal is recorded (in the audit trail); the item stays pending.
    """


class StaleAnswerError(ResumeError):
    """The answer was given against a payload digest that no longer matches the item."""


class InterruptExpiredError(ResumeError):
    """The interrupt's deadline passed with ``on_timeout=Expire()``.

    Raised by ``inbox.answer`` for an expired item, and by the re-run node's
    ``interrupt()`` call (the node may catch it and carry on).
    """


class AlreadyAnsweredError(ResumeConflictError):
    """The interrupt already has a complete answer, or this actor already gave theirs."""


# --- run-time failures --------------------------------------------------------------------


class GraphRuntimeError(LocusError):
    """A graph run failed part-way.

    Attributes:
        node: the node at fault, when one is.
        state: the graph state as it was before the failing step, so nothing is lost.
    """

    def __init__(
        self, message: str, *, node: str | None = None, state: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.node = node
        self.state: dict[str, Any] = state if state is not None else {}


class NodeExecutionError(GraphRuntimeError):
    """A node raised; the original exception is chained as ``__cause__``."""


class InvalidNodeOutputError(GraphRuntimeError, TypeError):
    """A node returned something other than a dict of updates, ``None`` or a ``Command``."""


class StateConflictError(GraphRuntimeError):
    """Two nodes in one step wrote the same key and the graph declares no reducer for it."""


class GraphRecursionError(GraphRuntimeError):
    """The run exceeded ``max_steps``; the message names the nodes that kept repeating."""


class ReducerError(GraphRuntimeError):
    """A key's reducer raised while merging a node's update; the message names key and node."""


class ReplayMismatchError(GraphRuntimeError):
    """On resume a node asked for a model call or tool call other than the one it recorded."""


class NodeTimeoutError(GraphRuntimeError, TimeoutError):
    """A node ran longer than ``graph.config.node_timeout`` in a worker (a failed attempt)."""


class RunFailedError(GraphRuntimeError):
    """A worker gave up on the thread after ``max_retries``; the stored error is the message."""


class ResultTimeoutError(GraphRuntimeError, TimeoutError):
    """``graph.result(thread_id, timeout=...)`` saw no pause or end within the timeout."""


class AgentError(LocusError):
    """An agent run could not proceed."""


class ToolArgumentsError(AgentError, ValueError):
    """A tool was called with arguments that fail its schema; the message names the tool.

    Inside an agent run this never propagates: the agent reports it to the model as a tool
    error so that the model can retry with corrected arguments.
    """


class OutputValidationError(AgentError, ValueError):
    """The model's final answer did not match the agent's ``output_type``, even after being
    told the error ``output_retries`` times.

    Attributes:
        agent_id: the agent whose answer failed.
        field: the first field at fault (``"(output)"`` for the answer as a whole).
        problems: every problem found in the last answer.
        text: the last answer as the model gave it.
    """

    def __init__(
        self,
        message: str,
        *,
        agent_id: str = "",
        field: str = "",
        problems: tuple[str, ...] = (),
        text: str = "",
    ) -> None:
        super().__init__(message)
        self.agent_id = agent_id
        self.field = field
        self.problems = problems
        self.text = text


class MCPError(AgentError):
    """An MCP server could not be started, reached or listed, or a call to one of its tools
    failed. Raised from the run when connecting fails; a failed tool call is reported to
    the model as that tool's error instead."""


class MockScriptError(AgentError):
    """A scripted mock model was called past its script, or finished with steps unused."""


# --- providers ----------------------------------------------------------------------------


class ModelProviderError(LocusError):
    """A call to a model provider failed.

    Attributes:
        provider: ``"openai"``, ``"oci"``, ...
        status_code: the HTTP status, when there was a response.
        provider_message: the provider's own error text (never containing credentials).
        retry_after: seconds the provider asked us to wait (``Retry-After``), when it did.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        status_code: int | None = None,
        provider_message: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.status_code = status_code
        self.provider_message = provider_message
        self.retry_after = retry_after


class ProviderAuthenticationError(ModelProviderError):
    """The provider rejected the credentials (401/403, expired session token)."""


class RateLimitError(ModelProviderError):
    """The provider answered 429 and the retry budget ran out."""


class QuotaExceededError(ModelProviderError):
    """The account's quota or billing limit is exhausted (429 ``insufficient_quota``).

    Unlike ``RateLimitError`` this is never retried: waiting does not help.
    """


class BadRequestError(ModelProviderError):
    """The provider rejected the request as malformed (400/404/422); never retried."""


class ProviderUnavailableError(ModelProviderError):
    """The provider failed (5xx) or the connection dropped, and retries ran out."""


class ProviderTimeoutError(ModelProviderError, TimeoutError):
    """The request timed out and retries ran out."""


# --- storage ------------------------------------------------------------------------------


class NotificationError(LocusError):
    """A notifier could not deliver a notice (refused, unreachable, timed out). The
    dispatcher records the message and tries again later, with backoff."""


class CheckpointError(LocusError):
    """A checkpointer could not load or save a thread."""


class StateSerializationError(CheckpointError, TypeError):
    """A state value cannot be stored; the message names its key path and type.

    Raised before anything is written, so the previous checkpoint stays intact.
    """


class SchemaVersionError(CheckpointError):
    """A stored record carries a schema version this release cannot read."""


class UnknownStoredTypeError(CheckpointError):
    """Stored data names a class that was not registered before reading; nothing is imported.

    Register the class (``types=[...]`` on the checkpointer or graph, or
    ``locus.checkpoint.register_type``) in every process that reads the thread.
    """


class StoreUnavailableError(CheckpointError, ConnectionError):
    """The store cannot be reached or opened; the message carries the server's own reason."""


class SyncInEventLoopError(UserError, RuntimeError):
    """A blocking ``*_sync`` helper was called from inside a running event loop; await the
    async form instead.
    """


class CheckpointUsageError(UserError, ValueError):
    """A checkpointer was called with a bad argument: empty thread id, unknown status,
    ``lease_seconds`` not positive, a malformed pending list or page cursor, and so on.
    """
