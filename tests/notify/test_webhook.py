"""Webhook notifications: signed, sent only for stored pauses, retried, at least once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from receivers import webhook_receiver
from support import choice_graph, refund_graph

from locus.checkpoint import Checkpointer
from locus.checkpoint.sqlite import SQLiteCheckpointer
from locus.core import interrupt
from locus.errors import ConfigurationError
from locus.inbox import Actor, Answerers, Escalate, Expire, Inbox
from locus.multiagent import END, START, StateGraph
from locus.notify import Notifications, WebhookNotifier, sign_webhook, verify_webhook


@pytest.fixture
async def store(tmp_path: Path) -> Any:
    async with SQLiteCheckpointer(str(tmp_path / "notify.db")) as cp:
        yield cp


def test_a_signature_fails_for_another_body_secret_or_an_old_timestamp() -> None:
    header = sign_webhook("s3cret", b'{"a":1}', timestamp=1_000_000)
    assert verify_webhook("s3cret", b'{"a":1}', header, now=1_000_010)
    assert not verify_webhook("s3cret", b'{"a":2}', header, now=1_000_010)
    assert not verify_webhook("other", b'{"a":1}', header, now=1_000_010)
    assert not verify_webhook("s3cret", b'{"a":1}', header, now=1_000_000 + 301)
    assert not verify_webhook("s3cret", b'{"a":1}', None)


async def test_a_pause_is_posted_signed_once_with_an_idempotency_key(store: Checkpointer) -> None:
    await choice_graph(store).execute({}, thread_id="c-1")
    with webhook_receiver("hook-secret") as receiver:
        notes = Notifications(store, [WebhookNotifier("ops", receiver.url, secret="hook-secret")])
        assert await notes.run_once() == 1
        assert await notes.run_once() == 0  # nothing new: not sent twice
    assert receiver.refused == 0
    [body] = receiver.received
    assert body["kind"] == "asked"
    assert body["summary"] == "Which plan?"
    assert body["graph"] == "choices"
    assert body["payload"]["options"] == ["basic", "pro"]
    assert receiver.keys == [body["key"]]


async def test_a_failing_receiver_is_retried_with_backoff_and_the_same_key(
    store: Checkpointer,
) -> None:
    await choice_graph(store).execute({}, thread_id="c-1")
    now = [1_000.0]
    with webhook_receiver("k", fail_first=2) as receiver:
        notes = Notifications(
            store,
            [WebhookNotifier("ops", receiver.url, secret="k")],
            base_delay=10,
            clock=lambda: now[0],
        )
        await notes.scan()
        assert await notes.deliver() == 0  # 503
        [pending] = await notes.ledger.deliveries("ops")
        assert (pending.attempts, pending.due_at) == (1, 1_010.0)
        assert "503" in (pending.last_error or "")
        assert await notes.deliver() == 0  # not due yet: nothing sent
        now[0] = 1_010.0
        assert await notes.deliver() == 0  # 503 again; next wait doubles
        [pending] = await notes.ledger.deliveries("ops")
        assert pending.due_at == 1_030.0
        now[0] = 1_030.0
        assert await notes.deliver() == 1
    assert receiver.attempts == 3
    assert len(receiver.received) == 1
    [done] = await notes.ledger.deliveries("ops")
    assert (done.status, done.attempts) == ("sent", 3)


async def test_a_delivery_is_marked_failed_after_max_attempts(store: Checkpointer) -> None:
    await choice_graph(store).execute({}, thread_id="c-1")
    with webhook_receiver("k") as receiver:
        wrong = WebhookNotifier("ops", receiver.url, secret="not-the-receivers")
        notes = Notifications(store, [wrong], max_attempts=2, base_delay=0)
        await notes.run_once()
        await notes.run_once()
    [failed] = await notes.ledger.deliveries("ops")
    assert failed.status == "failed" and "401" in (failed.last_error or "")
    assert receiver.refused == 2


async def test_notifiers_are_configured_per_graph(store: Checkpointer) -> None:
    await choice_graph(store).execute({}, thread_id="c-1")
    await refund_graph(store).execute({"order": "A-1"}, thread_id="r-1")
    with webhook_receiver("k") as receiver:
        hook = WebhookNotifier("finance", receiver.url, secret="k", graphs=["refunds"])
        await Notifications(store, [hook]).run_once()
    assert [b["graph"] for b in receiver.received] == ["refunds"]


async def test_an_item_answered_before_the_scan_is_not_announced(store: Checkpointer) -> None:
    await choice_graph(store).execute({}, thread_id="c-1")
    item = (await Inbox(store).pending()).items[0]
    await Inbox(store).answer(item.id, "pro", actor=Actor("ana"))
    with webhook_receiver("k") as receiver:
        await Notifications(store, [WebhookNotifier("ops", receiver.url, secret="k")]).run_once()
    assert receiver.received == []


def deadline_graph(cp: Checkpointer) -> StateGraph:
    graph = StateGraph("deadlines", checkpointer=cp)

    async def ask(state: dict[str, Any]) -> dict[str, Any]:
        answer = interrupt(
            {"question": "Ship it?"}, deadline=dt.timedelta(hours=1), on_timeout=Expire()
        )
        return {"answer": answer}

    graph.add_node("ask", ask).add_edge(START, "ask").add_edge("ask", END)
    return graph


async def test_a_reminder_goes_out_before_the_deadline_and_expiry_is_announced(
    store: Checkpointer,
) -> None:
    await deadline_graph(store).execute({}, thread_id="d-1")
    item = (await Inbox(store).pending()).items[0]
    assert item.deadline is not None
    deadline = item.deadline.timestamp()
    now = [deadline - 3600]
    with webhook_receiver("k") as receiver:
        hook = WebhookNotifier("ops", receiver.url, secret="k", remind_before=600)
        notes = Notifications(store, [hook], clock=lambda: now[0])
        await notes.run_once()
        assert [b["kind"] for b in receiver.received] == ["asked"]
        now[0] = deadline - 599
        await notes.run_once()
        assert [b["kind"] for b in receiver.received] == ["asked", "reminder"]
        await Inbox(store).expire_due(now=deadline + 1)
        await notes.run_once()
    kinds = [b["kind"] for b in receiver.received]
    assert kinds == ["asked", "reminder", "expired"]
    assert len(set(receiver.keys)) == 3


async def test_a_reminder_for_an_item_answered_meanwhile_is_skipped(store: Checkpointer) -> None:
    await deadline_graph(store).execute({}, thread_id="d-1")
    item = (await Inbox(store).pending()).items[0]
    assert item.deadline is not None
    now = [item.deadline.timestamp() - 3600]
    with webhook_receiver("k") as receiver:
        hook = WebhookNotifier("ops", receiver.url, secret="k", remind_before=60)
        notes = Notifications(store, [hook], clock=lambda: now[0])
        await notes.run_once()
        await Inbox(store).answer(item.id, "yes", actor=Actor("ana"))
        now[0] = item.deadline.timestamp() - 30
        await notes.run_once()
    assert [b["kind"] for b in receiver.received] == ["asked"]
    statuses = sorted(d.status for d in await notes.ledger.deliveries("ops"))
    assert statuses == ["sent", "skipped"]


def test_two_notifiers_with_one_name_are_refused(store: Checkpointer) -> None:
    a = WebhookNotifier("ops", "http://127.0.0.1:1/", secret="k")
    with pytest.raises(ConfigurationError, match="unique"):
        Notifications(store, [a, a])


def escalating_graph(cp: Checkpointer) -> StateGraph:
    graph = StateGraph("escalations", checkpointer=cp)

    async def ask(state: dict[str, Any]) -> dict[str, Any]:
        answer = interrupt(
            {"question": "Refund 900?"},
            deadline=dt.timedelta(hours=1),
            on_timeout=Escalate(answerers=Answerers(roles={"lead"})),
        )
        return {"answer": answer}

    graph.add_node("ask", ask).add_edge(START, "ask").add_edge("ask", END)
    return graph


async def test_an_escalation_is_announced_with_the_item_still_pending(store: Checkpointer) -> None:
    await escalating_graph(store).execute({}, thread_id="e-1")
    item = (await Inbox(store).pending()).items[0]
    assert item.deadline is not None
    with webhook_receiver("k") as receiver:
        notes = Notifications(store, [WebhookNotifier("leads", receiver.url, secret="k")])
        await notes.run_once()
        await Inbox(store).expire_due(now=item.deadline.timestamp() + 1)
        await notes.run_once()
    assert [(b["kind"], b["summary"]) for b in receiver.received] == [
        ("asked", "Refund 900?"),
        ("escalated", "Refund 900?"),
    ]
