"""Schema -> form fields, and submitted strings -> a value with per-field problems."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field
from support import Triage

from locus.core.schema import json_schema_of
from locus.inbox.web.forms import fields_of, parse_form


def test_pydantic_refs_enums_and_nested_objects_become_fields() -> None:
    fields = fields_of(json_schema_of(Triage))
    kinds = {f.name: f.kind for f in fields}
    assert kinds == {
        "priority": "enum",
        "minutes": "integer",
        "note": "string",
        "customer": "object",
    }
    customer = fields[3]
    assert [(c.name, c.kind, c.required) for c in customer.children] == [
        ("customer.name", "string", True),
        ("customer.vip", "boolean", False),
    ]


def test_submitted_strings_convert_to_the_schema_types() -> None:
    fields = fields_of(json_schema_of(Triage))
    value, errors = parse_form(
        fields,
        {"priority": "0", "minutes": "15", "note": "fine", "customer.name": "Bo"},
    )
    assert errors == {}
    assert value == {
        "priority": "low",
        "minutes": 15,
        "note": "fine",
        "customer": {"name": "Bo", "vip": False},
    }


def test_each_problem_is_keyed_by_its_field() -> None:
    fields = fields_of(json_schema_of(Triage))
    _, errors = parse_form(
        fields, {"priority": "7", "minutes": "999", "note": "no", "customer.name": ""}
    )
    assert errors == {
        "priority": "Choose one of the listed options.",
        "minutes": "Enter a value of at most 480.",
        "note": "Enter at least 3 characters.",
        "customer.name": "This field is required.",
    }


def test_optional_fields_left_empty_are_omitted() -> None:
    class Reply(BaseModel):
        text: str
        cc: str | None = None
        score: float | None = Field(default=None, ge=0)

    value, errors = parse_form(fields_of(json_schema_of(Reply)), {"text": "hi", "cc": ""})
    assert (value, errors) == ({"text": "hi"}, {})


def test_a_scalar_schema_is_one_value_field() -> None:
    fields = fields_of(json_schema_of(Literal["yes", "no"]))
    assert [(f.name, f.kind) for f in fields] == [("value", "enum")]
    assert parse_form(fields, {"value": "1"}) == ("no", {})


def test_lists_of_strings_are_one_per_line_and_other_shapes_are_json() -> None:
    class Plan(BaseModel):
        steps: list[str]
        extra: dict[str, int]

    fields = fields_of(json_schema_of(Plan))
    assert [f.kind for f in fields] == ["lines", "json"]
    value, errors = parse_form(fields, {"steps": "call\n\nemail\n", "extra": '{"a": 1}'})
    assert (value, errors) == ({"steps": ["call", "email"], "extra": {"a": 1}}, {})
    _, errors = parse_form(fields, {"steps": "x", "extra": "{nope"})
    assert errors["extra"].startswith("Enter valid JSON")
