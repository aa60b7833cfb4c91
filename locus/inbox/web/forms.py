"""An HTML form from a JSON Schema, and the submitted form back into a checked value.

``fields_of(schema)`` turns a response schema (as pydantic writes them: ``$defs`` and
``$ref``, ``anyOf`` with ``null`` for optional fields, ``enum`` and ``const``) into a tree
of ``FormField``. ``parse_form(fields, form)`` reads the submitted strings back into the
value, converting numbers, booleans and enum choices, and returns every problem keyed by
the field's input name, so that each error shows next to its field. The library validates
the answer again against the schema when it is stored; this pass exists to say which field
is wrong in words a reviewer understands.

A schema that is not an object becomes one field named ``value``. Shapes the form cannot
draw (arrays of objects, unions of several types) become a JSON text area.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["FormField", "fields_of", "parse_form"]

Kind = Literal["string", "text", "number", "integer", "boolean", "enum", "object", "lines", "json"]

ROOT = "value"


@dataclass(slots=True)
class FormField:
    """One input of the generated form.

    Attributes:
        name: the input's name, the JSON path joined with dots (``value`` for a scalar root).
        key: the property name in its parent object (None for the root).
        label: what the reviewer reads.
        kind: how it is drawn and parsed.
        required: whether an empty input is an error.
        description: the schema's description, shown as help.
        choices: enum values (for ``enum``), in schema order.
        default: the schema default, to prefill.
        children: the fields of a nested object.
        schema: the (resolved) schema of this field, for its constraints.
    """

    name: str
    key: str | None
    label: str
    kind: Kind
    required: bool
    description: str | None = None
    choices: list[Any] = field(default_factory=list)
    default: Any = None
    children: list[FormField] = field(default_factory=list)
    schema: dict[str, Any] = field(default_factory=dict)

    def choice_label(self, value: Any) -> str:
        """How an enum choice is shown."""
        return value if isinstance(value, str) else json.dumps(value)

    def prefill(self, values: Mapping[str, str]) -> str:
        """The text to show: what was submitted, else the default."""
        if self.name in values:
            return values[self.name]
        if self.default is None:
            return ""
        if self.kind == "lines" and isinstance(self.default, list):
            return "\n".join(str(v) for v in self.default)
        if self.kind == "json":
            return json.dumps(self.default, indent=2)
        if self.kind == "enum":
            return str(self.choices.index(self.default)) if self.default in self.choices else ""
        return str(self.default)


def fields_of(schema: Mapping[str, Any]) -> list[FormField]:
    """The form fields for ``schema``: its properties, or a single ``value`` field."""
    defs = dict(schema.get("$defs", {}) or {})
    defs.update(schema.get("definitions", {}) or {})
    root, _ = _resolve(dict(schema), defs)
    if root.get("type") == "object" and isinstance(root.get("properties"), dict):
        return _properties(root, defs, prefix="")
    return [_field(ROOT, None, root, defs, required=True, depth=0)]


def parse_form(fields: list[FormField], form: Mapping[str, str]) -> tuple[Any, dict[str, str]]:
    """Read the submitted form into the answer value.

    Returns:
        The value (an object for a properties form, else the ``value`` field's value) and
        the problems by input name (empty when the value is good).
    """
    errors: dict[str, str] = {}
    if len(fields) == 1 and fields[0].key is None:
        value = _read(fields[0], form, errors)
        return (None if value is _MISSING else value), errors
    return _read_object(fields, form, errors), errors


_MISSING: Any = object()


def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Follow ``$ref``, unwrap ``allOf`` of one and ``anyOf [X, null]``; say if nullable."""
    nullable = False
    for _ in range(32):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith(("#/$defs/", "#/definitions/")):
            target = defs.get(ref.rsplit("/", 1)[1], {})
            schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
            continue
        options = schema.get("anyOf") or schema.get("oneOf")
        if isinstance(options, list):
            real = [o for o in options if o.get("type") != "null"]
            if len(real) < len(options):
                nullable = True
            if len(real) == 1:
                rest = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
                schema = {**real[0], **rest}
                continue
        all_of = schema.get("allOf")
        if isinstance(all_of, list) and len(all_of) == 1:
            rest = {k: v for k, v in schema.items() if k != "allOf"}
            schema = {**all_of[0], **rest}
            continue
        break
    if isinstance(schema.get("type"), list):
        types = [t for t in schema["type"] if t != "null"]
        nullable = nullable or len(types) < len(schema["type"])
        schema = {**schema, "type": types[0] if len(types) == 1 else types}
    return schema, nullable


def _properties(schema: dict[str, Any], defs: dict[str, Any], prefix: str) -> list[FormField]:
    required = set(schema.get("required", []))
    depth = prefix.count(".") + (1 if prefix else 0)
    return [
        _field(f"{prefix}{key}", key, sub, defs, required=key in required, depth=depth)
        for key, sub in schema["properties"].items()
        if isinstance(sub, dict)
    ]


def _field(
    name: str,
    key: str | None,
    raw: dict[str, Any],
    defs: dict[str, Any],
    *,
    required: bool,
    depth: int,
) -> FormField:
    schema, nullable = _resolve(dict(raw), defs)
    label = str(schema.get("title") or (key or "Answer").replace("_", " ").capitalize())
    made = FormField(
        name=name,
        key=key,
        label=label,
        kind="json",
        required=required and not nullable,
        description=schema.get("description"),
        default=schema.get("default"),
        schema=schema,
    )
    kind = schema.get("type")
    if "enum" in schema or "const" in schema:
        made.kind = "enum"
        made.choices = list(schema["enum"]) if "enum" in schema else [schema["const"]]
    elif kind == "object" and isinstance(schema.get("properties"), dict) and depth < 4:
        made.kind = "object"
        made.children = _properties(schema, defs, prefix=f"{name}.")
    elif kind == "string":
        long = schema.get("maxLength", 0) > 200 or schema.get("format") == "textarea"
        made.kind = "text" if long else "string"
    elif kind in ("number", "integer", "boolean"):
        made.kind = kind
    elif kind == "array":
        items, _ = _resolve(dict(schema.get("items", {})), defs)
        if items.get("type") in ("string", "number", "integer") and "enum" not in items:
            made.kind = "lines"
            made.schema = {**schema, "items": items}
    return made


def _read_object(
    fields: list[FormField], form: Mapping[str, str], errors: dict[str, str]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields:
        value = _read(f, form, errors)
        if value is not _MISSING:
            out[f.key or f.name] = value
    return out


def _read(f: FormField, form: Mapping[str, str], errors: dict[str, str]) -> Any:
    if f.kind == "object":
        return _read_object(f.children, form, errors)
    if f.kind == "boolean":
        # An unchecked box sends nothing; the hidden "present" marker tells it was drawn.
        return form.get(f.name) in ("on", "true", "1")
    text = form.get(f.name, "")
    if text.strip() == "":
        if f.required:
            errors[f.name] = "This field is required."
        return _MISSING
    try:
        value = _convert(f, text)
    except _Invalid as exc:
        errors[f.name] = str(exc)
        return _MISSING
    problem = _check(f.schema, value)
    if problem:
        errors[f.name] = problem
        return _MISSING
    return value


class _Invalid(Exception):
    """A submitted string that does not convert; the message is shown to the reviewer."""


def _convert(f: FormField, text: str) -> Any:
    if f.kind in ("string", "text"):
        return text
    if f.kind == "integer":
        try:
            return int(text.strip())
        except ValueError:
            raise _Invalid("Enter a whole number.") from None
    if f.kind == "number":
        try:
            number = float(text.strip())
        except ValueError:
            raise _Invalid("Enter a number.") from None
        if not math.isfinite(number):
            raise _Invalid("Enter a finite number.")
        return int(number) if number.is_integer() and "." not in text else number
    if f.kind == "enum":
        try:
            return f.choices[int(text)]
        except (ValueError, IndexError):
            raise _Invalid("Choose one of the listed options.") from None
    if f.kind == "lines":
        item = f.schema.get("items", {})
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        sub = FormField(f.name, None, f.label, item.get("type", "string"), True, schema=item)
        return [_convert(sub, line) for line in lines]
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _Invalid(f"Enter valid JSON ({exc.msg} at line {exc.lineno}).") from None


def _check(schema: Mapping[str, Any], value: Any) -> str | None:
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            return f"Enter at least {schema['minLength']} characters."
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            return f"Enter at most {schema['maxLength']} characters."
        pattern = schema.get("pattern")
        if isinstance(pattern, str) and not re.search(pattern, value):
            return f"Enter text matching the pattern {pattern}."
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            return f"Enter a value of at least {schema['minimum']}."
        if "maximum" in schema and value > schema["maximum"]:
            return f"Enter a value of at most {schema['maximum']}."
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            return f"Enter a value greater than {schema['exclusiveMinimum']}."
        if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
            return f"Enter a value less than {schema['exclusiveMaximum']}."
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            return f"Enter at least {schema['minItems']} lines."
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            return f"Enter at most {schema['maxItems']} lines."
    return None
