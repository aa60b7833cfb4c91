"""Pure parts of the inbox: the rules an interrupt declares, and the audit hash chain."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from locus.checkpoint.audit import AuditDraft, chain, verify_chain
from locus.errors import ConfigurationError
from locus.inbox import Actor, Answerers, Escalate, Expire
from locus.inbox.rules import Ask, ask_document
from locus.inbox.validate import schema_problem


def trail(n: int = 4) -> list:  # type: ignore[type-arg]
    drafts = [AuditDraft(kind="answered", at=1.0 + i, data={"i": i}) for i in range(n)]
    return chain("t1", 0, "", drafts)


def test_an_intact_chain_verifies() -> None:
    assert verify_chain("t1", trail()).ok


def test_a_removed_entry_breaks_the_chain() -> None:
    rows = trail()
    check = verify_chain("t1", rows[:1] + rows[2:])
    assert not check.ok and any("entry 2 is missing" in p for p in check.problems)


def test_swapped_entries_break_the_chain() -> None:
    rows = trail()
    swapped = [
        rows[0],
        dataclasses.replace(rows[2], seq=2),
        dataclasses.replace(rows[1], seq=3),
        rows[3],
    ]
    check = verify_chain("t1", swapped)
    assert not check.ok and any("reordered" in p for p in check.problems)


def test_an_entry_moved_to_another_thread_is_caught() -> None:
    assert not verify_chain("t2", trail()).ok


def test_an_entry_body_is_the_compact_json_of_its_fields_in_order() -> None:
    # bodies are assembled from encoded parts; they must read back (and hash) as the
    # one JSON document the format describes, whatever text the fields hold
    drafts = [
        AuditDraft("asked", 1764480000.25, 'i"1', "nöde", None, {"digest": "d", "ask": None}),
        AuditDraft("answered", 7, None, None, {"id": "ann😀", "roles": ["a"]}, {"v": [{"b": 1}]}),
        AuditDraft("finished", float("inf"), data={"x\n": float("nan")}),
    ]
    rows = chain('th"ré', 4, "h", drafts, first_position=10)
    for seq, (row, draft) in enumerate(zip(rows, drafts, strict=True), start=5):
        doc = {
            "v": 1,
            "thread": 'th"ré',
            "seq": seq,
            "at": draft.at,
            "kind": draft.kind,
            "interrupt": draft.interrupt_id,
            "node": draft.node,
            "actor": draft.actor,
            "data": draft.data,
        }
        assert row.body == json.dumps(doc, separators=(",", ":"))
        assert (row.seq, row.position) == (seq, seq + 5)
    assert [r.prev_hash for r in rows[1:]] == [r.hash for r in rows[:-1]]


def test_a_naive_deadline_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="naive"):
        ask_document(
            deadline=dt.datetime(2030, 1, 1),
            on_timeout=None,
            answerers=None,
            now=0.0,
            to_tree=lambda v: v,
        )


def test_on_timeout_without_a_deadline_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="deadline"):
        ask_document(deadline=None, on_timeout=Expire(), answerers=None, now=0.0, to_tree=str)


def test_a_quorum_below_one_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="quorum"):
        Answerers(quorum=0)


def test_answerers_admit_by_role_or_user_and_exclude_not_users() -> None:
    rule = Answerers(roles={"manager"}, users={"zoe"}, not_users={"max"})
    assert rule.why_not(Actor("ann", frozenset({"manager"}))) is None
    assert rule.why_not(Actor("zoe")) is None
    assert "excluded" in (rule.why_not(Actor("max", frozenset({"manager"}))) or "")
    assert "not among" in (rule.why_not(Actor("bob")) or "")
    assert Answerers().why_not(Actor("anyone")) is None


def test_rules_survive_their_stored_form_and_escalate() -> None:
    doc = ask_document(
        deadline=dt.timedelta(hours=1),
        on_timeout=Escalate(answerers=Answerers(users={"dana"}), deadline=dt.timedelta(hours=2)),
        answerers=Answerers(roles={"manager"}, quorum=2),
        now=100.0,
        to_tree=lambda v: v,
    )
    ask = Ask.load(doc)
    assert ask.deadline == 3700.0 and ask.answerers == Answerers(roles={"manager"}, quorum=2)
    assert ask.on_timeout is not None
    later = ask.escalated(ask.on_timeout, 5000.0)
    assert later.deadline == 5000.0 + 7200 and later.answerers == Answerers(users={"dana"})


def test_schema_problems_name_the_field() -> None:
    schema = {
        "type": "object",
        "properties": {"approve": {"type": "boolean"}, "items": {"type": "array"}},
        "required": ["approve"],
    }
    assert schema_problem({"approve": True}, schema) is None
    assert "answer['approve'] is required" in (schema_problem({}, schema) or "")
    assert "answer['approve']" in (schema_problem({"approve": 1}, schema) or "")
