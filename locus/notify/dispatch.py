"""``Notifications``: read the audit feed, schedule notices durably, deliver with retries.

The inbox writes an ``asked`` audit entry in the same transaction as the pause it records,
so the audit feed is an outbox: nothing is announced before the pause is stored, and
nothing stored is missed. For each notifier, ``scan`` reads the feed after that notifier's
cursor and stores the notices it implies together with the new cursor, in one write;
``deliver`` sends what is due and records each attempt. A process that dies at any point
leaves either an unscanned feed or pending deliveries, which the next process picks up:
every notice is delivered at least once, each time with the same idempotency key.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from locus.checkpoint import Checkpointer
from locus.errors import ConfigurationError, UnknownInterruptError
from locus.inbox import AuditEntry, Inbox, InboxItem
from locus.inbox.present import item_summary, plain
from locus.notify.base import Notice, NoticeKind, Notifier
from locus.notify.ledger import Delivery, Ledger, ledger_for

__all__ = ["Notifications"]

log = logging.getLogger("locus.notify")

_KINDS: dict[str, NoticeKind] = {
    "asked": "asked",
    "escalated": "escalated",
    "expired": "expired",
    "timed_out": "timed_out",
}


class Notifications:
    """Deliver notices about a store's pending items to its notifiers.

    Args:
        checkpointer: the store the graphs pause in; delivery state is kept there too.
        notifiers: where to send; names must be unique.
        max_attempts: tries before a delivery is marked ``failed``.
        base_delay, max_delay: retry backoff: ``base_delay * 2**(attempt-1)``, capped.
        batch: feed entries read per scan.
        clock: the time, for tests of reminders.

    Raises:
        ConfigurationError: two notifiers share a name, or a bad retry setting.
    """

    def __init__(
        self,
        checkpointer: Checkpointer,
        notifiers: Sequence[Notifier],
        *,
        max_attempts: int = 8,
        base_delay: float = 1.0,
        max_delay: float = 300.0,
        batch: int = 100,
        clock: Callable[[], float] = time.time,
    ) -> None:
        names = [n.name for n in notifiers]
        if len(set(names)) != len(names):
            raise ConfigurationError(f"notifier names must be unique, got {names}")
        if max_attempts < 1 or base_delay < 0 or max_delay < base_delay:
            raise ConfigurationError(
                "need max_attempts >= 1 and 0 <= base_delay <= max_delay for retries"
            )
        self.checkpointer = checkpointer
        self.inbox = Inbox(checkpointer)
        self.notifiers = list(notifiers)
        self.max_attempts = max_attempts
        self.base_delay, self.max_delay = base_delay, max_delay
        self.batch = batch
        self.clock = clock

    @property
    def ledger(self) -> Ledger:
        """Where deliveries are kept."""
        return ledger_for(self.checkpointer)

    async def run_once(self) -> int:
        """Scan the feed, then deliver what is due; return how many deliveries succeeded."""
        await self.scan()
        return await self.deliver()

    async def run(self, poll_seconds: float = 1.0) -> None:
        """``run_once`` forever, every ``poll_seconds`` (cancel the task to stop)."""
        while True:
            try:
                await self.run_once()
            except Exception:  # the store may be briefly away; the state is durable
                log.exception("notification pass failed; retrying in %ss", poll_seconds)
            await asyncio.sleep(poll_seconds)

    async def scan(self) -> int:
        """Schedule the notices of every feed entry past each notifier's cursor.

        Returns:
            How many deliveries were scheduled.
        """
        scheduled = 0
        for notifier in self.notifiers:
            while True:
                after = await self.ledger.cursor(notifier.name)
                entries = await self.inbox.feed(after=after, limit=self.batch)
                if not entries:
                    break
                deliveries: list[Delivery] = []
                for entry in entries:
                    deliveries += await self._plan(notifier, entry)
                await self.ledger.schedule(notifier.name, entries[-1].position, deliveries)
                scheduled += len(deliveries)
                if len(entries) < self.batch:
                    break
        return scheduled

    async def deliver(self) -> int:
        """Send every due delivery once; record success, or the error and the next try."""
        sent = 0
        for notifier in self.notifiers:
            for delivery in await self.ledger.due(notifier.name, self.clock()):
                sent += await self._attempt(notifier, delivery)
        return sent

    async def _attempt(self, notifier: Notifier, delivery: Delivery) -> int:
        notice = Notice.from_json(delivery.body)
        if notice.kind in ("reminder", "escalated") and not await self._still_pending(notice):
            await self.ledger.settle(replace(delivery, status="skipped"))
            return 0
        attempts = delivery.attempts + 1
        try:
            await notifier.send(notice)
        except Exception as exc:  # any failure is retried; the reason is kept
            error = f"{type(exc).__name__}: {exc}"[:500]
            if attempts >= self.max_attempts:
                log.error("notifier %s gave up on %s: %s", notifier.name, delivery.key, error)
                await self.ledger.settle(
                    replace(delivery, attempts=attempts, status="failed", last_error=error)
                )
            else:
                delay = min(self.max_delay, self.base_delay * 2 ** (attempts - 1))
                log.warning("notifier %s: %s; retry in %ss", notifier.name, error, delay)
                await self.ledger.settle(
                    replace(
                        delivery,
                        attempts=attempts,
                        due_at=self.clock() + delay,
                        last_error=error,
                    )
                )
            return 0
        await self.ledger.settle(
            replace(delivery, attempts=attempts, status="sent", last_error=None)
        )
        return 1

    async def _still_pending(self, notice: Notice) -> bool:
        if notice.interrupt_id is None:
            return False
        try:
            await self.inbox.get(notice.interrupt_id)
        except UnknownInterruptError:
            return False
        return True

    async def _plan(self, notifier: Notifier, entry: AuditEntry) -> list[Delivery]:
        kind = _KINDS.get(entry.kind)
        if kind is None or entry.interrupt_id is None:
            return []
        item: InboxItem | None = None
        if kind in ("asked", "escalated"):
            try:
                item = await self.inbox.get(entry.interrupt_id)
            except UnknownInterruptError:
                return []  # answered (or gone) before anyone needed telling
            graph = item.graph
        else:
            stored = await self.checkpointer.get(entry.thread_id)
            graph = stored.graph if stored is not None else ""
        now = self.clock()
        out: list[Delivery] = []
        if notifier.wants(kind, graph):
            notice = _notice(notifier, kind, entry, item, graph)
            out.append(Delivery(notifier.name, notice.key, now, notice.to_json()))
        deadline = item.deadline if item is not None else None
        if (
            kind == "asked"
            and deadline is not None
            and notifier.remind_before is not None
            and notifier.wants("reminder", graph)
            and deadline.timestamp() > now
        ):
            notice = _notice(notifier, "reminder", entry, item, graph)
            due = max(now, deadline.timestamp() - notifier.remind_before)
            out.append(Delivery(notifier.name, notice.key, due, notice.to_json()))
        return out


def _notice(
    notifier: Notifier, kind: NoticeKind, entry: AuditEntry, item: InboxItem | None, graph: str
) -> Notice:
    if item is not None:
        summary, payload = item_summary(item), plain(item.payload)
        deadline: dt.datetime | None = item.deadline
    else:
        summary = (
            f"interrupt {entry.interrupt_id} of thread {entry.thread_id} {kind.replace('_', ' ')}"
        )
        payload, deadline = plain(entry.data), None
    return Notice(
        kind=kind,
        key=Notice.make_key(notifier.name, entry.thread_id, entry.seq, kind),
        interrupt_id=entry.interrupt_id,
        thread_id=entry.thread_id,
        graph=graph,
        node=entry.node,
        summary=summary,
        payload=payload,
        deadline=deadline.isoformat() if deadline else None,
        position=entry.position,
    )
