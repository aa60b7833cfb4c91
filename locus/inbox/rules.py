"""Who may answer an interrupt and what happens when nobody does: plain, stored data.

``Actor`` is who answers; ``Answerers`` says who may; ``Escalate`` and ``Expire`` (or a plain
value) say what happens at the deadline. ``ask_document`` turns the keyword arguments of
``interrupt()`` into the JSON-shaped ``ask`` document stored with the pause, and
``Ask.load`` reads it back; nothing in it ever names code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from locus.errors import CheckpointError, ConfigurationError

__all__ = [
    "Actor",
    "Answerers",
    "Ask",
    "Escalate",
    "Expire",
    "ask_document",
]


def _names(value: Iterable[str] | str | None, what: str) -> frozenset[str]:
    if value is None:
        return frozenset()
    if isinstance(value, str):
        return frozenset({value})
    out = frozenset(value)
    if not all(isinstance(v, str) and v for v in out):
        raise ConfigurationError(f"{what} must be non-empty strings, got {sorted(map(repr, out))}")
    return out


@dataclass(frozen=True, slots=True)
class Actor:
    """Who answers: a stable ``id``, the ``roles`` they hold, and a name to show.

    Raises:
        ConfigurationError: an empty id or a role that is not a non-empty str.
    """

    id: str
    roles: frozenset[str] = frozenset()
    display_name: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise ConfigurationError(f"Actor.id must be a non-empty str, got {self.id!r}")
        object.__setattr__(self, "roles", _names(self.roles, "Actor.roles"))

    def to_json(self) -> dict[str, Any]:
        """Plain data for the audit trail."""
        return {"id": self.id, "roles": sorted(self.roles), "display_name": self.display_name}

    @classmethod
    def from_json(cls, data: Any) -> Actor | None:
        """Rebuild an actor from ``to_json`` output; ``None`` for ``None``."""
        if data is None:
            return None
        return cls(str(data["id"]), frozenset(data.get("roles") or ()), data.get("display_name"))


@dataclass(frozen=True, slots=True)
class Answerers:
    """Who may answer an interrupt.

    An actor may answer when their id is in ``users`` or they hold one of ``roles`` (either
    set empty means it admits nobody on its own; both empty admits everyone), and their id
    is not in ``not_users``. ``quorum`` distinct allowed actors must answer alike before the
    answer counts (``quorum=2``: four eyes).

    Raises:
        ConfigurationError: a quorum below 1, or names that are not non-empty strings.
    """

    roles: frozenset[str] = field(default_factory=frozenset)
    users: frozenset[str] = field(default_factory=frozenset)
    quorum: int = 1
    not_users: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        object.__setattr__(self, "roles", _names(self.roles, "Answerers.roles"))
        object.__setattr__(self, "users", _names(self.users, "Answerers.users"))
        object.__setattr__(self, "not_users", _names(self.not_users, "Answerers.not_users"))
        if isinstance(self.quorum, bool) or not isinstance(self.quorum, int) or self.quorum < 1:
            raise ConfigurationError(f"Answerers.quorum must be an int >= 1, got {self.quorum!r}")

    def why_not(self, actor: Actor | None) -> str | None:
        """Why ``actor`` may not answer, or ``None`` when they may."""
        if actor is None:
            return "no actor was given (pass actor=Actor(...))"
        if actor.id in self.not_users:
            return f"actor {actor.id!r} is excluded from answering it"
        if not self.roles and not self.users:
            return None
        if actor.id in self.users or actor.roles & self.roles:
            return None
        wanted = [f"role {r!r}" for r in sorted(self.roles)] + [
            f"user {u!r}" for u in sorted(self.users)
        ]
        return f"actor {actor.id!r} is not among its answerers ({' or '.join(wanted)})"

    def to_json(self) -> dict[str, Any]:
        """Plain data stored with the pause."""
        return {
            "roles": sorted(self.roles),
            "users": sorted(self.users),
            "quorum": self.quorum,
            "not_users": sorted(self.not_users),
        }

    @classmethod
    def from_json(cls, data: Any) -> Answerers | None:
        """Rebuild from ``to_json`` output; ``None`` for ``None``."""
        if data is None:
            return None
        return cls(
            frozenset(data.get("roles") or ()),
            frozenset(data.get("users") or ()),
            int(data.get("quorum", 1)),
            frozenset(data.get("not_users") or ()),
        )


@dataclass(frozen=True, slots=True)
class Escalate:
    """At the deadline, re-assign the same interrupt (same id) with a new deadline.

    Attributes:
        answerers: who may answer from then on (``None`` keeps the current ones).
        deadline: the new deadline, from the moment of escalation.
        on_timeout: what happens at the new deadline (default: it stays pending).
    """

    answerers: Answerers | None = None
    deadline: dt.timedelta | None = None
    on_timeout: Any = None


@dataclass(frozen=True, slots=True)
class Expire:
    """At the deadline, expire the interrupt: the re-run node's ``interrupt()`` raises
    ``InterruptExpiredError``, which the node may catch."""


def _timeout_json(on_timeout: Any, to_tree: Any) -> dict[str, Any] | None:
    if on_timeout is None:
        return None
    if isinstance(on_timeout, Expire):
        return {"kind": "expire"}
    if isinstance(on_timeout, Escalate):
        if on_timeout.deadline is not None and not isinstance(on_timeout.deadline, dt.timedelta):
            raise ConfigurationError(
                f"Escalate(deadline=...) takes a timedelta, got {on_timeout.deadline!r}"
            )
        return {
            "kind": "escalate",
            "answerers": None if on_timeout.answerers is None else on_timeout.answerers.to_json(),
            "after": None if on_timeout.deadline is None else on_timeout.deadline.total_seconds(),
            "then": _timeout_json(on_timeout.on_timeout, to_tree),
        }
    return {"kind": "value", "value": to_tree(on_timeout)}


def ask_document(
    *, deadline: Any, on_timeout: Any, answerers: Any, now: float, to_tree: Any
) -> dict[str, Any] | None:
    """The stored form of ``interrupt()``'s keyword arguments; ``None`` when none was given.

    Args:
        deadline: a ``timedelta`` from now, an aware ``datetime``, or ``None``.
        on_timeout: a value, ``Escalate``, ``Expire`` or ``None``.
        answerers: ``Answerers`` or ``None``.
        now: the pause time, seconds since the epoch.
        to_tree: encodes a timeout value for storage.

    Raises:
        ConfigurationError: a naive datetime, a deadline of another type, answerers of
            another type, or ``on_timeout`` without a deadline.
    """
    if deadline is None and on_timeout is None and answerers is None:
        return None
    at: float | None
    if deadline is None:
        at = None
    elif isinstance(deadline, dt.timedelta):
        at = now + deadline.total_seconds()
    elif isinstance(deadline, dt.datetime):
        if deadline.tzinfo is None:
            raise ConfigurationError(
                "interrupt(deadline=...) got a naive datetime; give an aware one "
                "(datetime.now(UTC) + ...) or a timedelta"
            )
        at = deadline.timestamp()
    else:
        raise ConfigurationError(
            f"interrupt(deadline=...) takes a timedelta or an aware datetime, got {deadline!r}"
        )
    if answerers is not None and not isinstance(answerers, Answerers):
        raise ConfigurationError(
            f"interrupt(answerers=...) takes Answerers(roles=..., users=...), got {answerers!r}"
        )
    if on_timeout is not None and at is None:
        raise ConfigurationError("interrupt(on_timeout=...) needs a deadline= to time out at")
    return {
        "deadline": at,
        "answerers": None if answerers is None else answerers.to_json(),
        "on_timeout": _timeout_json(on_timeout, to_tree),
    }


@dataclass(frozen=True, slots=True)
class Ask:
    """The rules of one pending interrupt as currently in force (after escalations)."""

    deadline: float | None = None
    answerers: Answerers | None = None
    on_timeout: dict[str, Any] | None = None

    @classmethod
    def load(cls, data: Mapping[str, Any] | None) -> Ask:
        """Read a stored ``ask`` document.

        Raises:
            CheckpointError: the document is malformed.
        """
        if not data:
            return cls()
        try:
            deadline = data.get("deadline")
            return cls(
                None if deadline is None else float(deadline),
                Answerers.from_json(data.get("answerers")),
                data.get("on_timeout"),
            )
        except (TypeError, ValueError, KeyError, AttributeError, ConfigurationError) as exc:
            raise CheckpointError(f"a stored interrupt's rules are malformed ({exc!r})") from exc

    def escalated(self, step: Mapping[str, Any], now: float) -> Ask:
        """The rules after an ``Escalate`` step at ``now``."""
        after = step.get("after")
        answerers = Answerers.from_json(step.get("answerers")) or self.answerers
        return Ask(None if after is None else now + float(after), answerers, step.get("then"))
