"""Notification state kept in every backend: scheduling, retries and single-use links."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from checkpoint_backends import Backend

sys.path.insert(0, str(Path(__file__).parent.parent / "notify"))
sys.path.insert(0, str(Path(__file__).parent.parent / "inbox" / "web"))

from receivers import webhook_receiver
from support import choice_graph

from locus.notify import Notifications, WebhookNotifier
from locus.notify.ledger import Delivery, ledger_for


async def test_a_notice_is_scheduled_and_delivered_once_per_store(backend: Backend) -> None:
    cp = backend.make()
    await choice_graph(cp).execute({}, thread_id="c-1")
    with webhook_receiver("k") as receiver:
        first = Notifications(cp, [WebhookNotifier("ops", receiver.url, secret="k")])
        assert await first.scan() == 1
        # another process over the same store finds the scheduled delivery (a memory
        # store lives in one checkpointer object, so there it is the same one)
        other = cp if backend.name == "memory" else backend.make()
        again = Notifications(other, [WebhookNotifier("ops", receiver.url, secret="k")])
        assert await again.scan() == 0
        assert await again.deliver() == 1
        assert await first.run_once() == 0
    assert [b["thread_id"] for b in receiver.received] == ["c-1"]
    [sent] = await ledger_for(other).deliveries("ops")
    assert (sent.status, sent.attempts) == ("sent", 1)


async def test_scheduling_a_known_key_again_keeps_the_settled_delivery(backend: Backend) -> None:
    ledger = ledger_for(backend.make())
    delivery = Delivery("ops", "key-1", 10.0, {"x": 1})
    await ledger.schedule("ops", 5, [delivery])
    await ledger.settle(Delivery("ops", "key-1", 10.0, {"x": 1}, attempts=1, status="sent"))
    await ledger.schedule("ops", 3, [delivery])
    assert await ledger.cursor("ops") == 5  # never moves back
    assert await ledger.due("ops", 100.0) == []
    assert [d.status for d in await ledger.deliveries("ops")] == ["sent"]


async def test_a_link_id_is_usable_once(backend: Backend) -> None:
    ledger = ledger_for(backend.make())
    expires = time.time() + 60
    assert await ledger.use_once("link-1", expires) is True
    assert await ledger.use_once("link-1", expires) is False
    if backend.name != "memory":
        assert await ledger_for(backend.make()).use_once("link-1", expires) is False
