"""Typed output: the schema a model is asked to answer in, and the validation of its answer.

``AgentConfig(output_type=T)`` takes a pydantic model, a dataclass, a ``TypedDict``, a
``Literal[...]``, an ``Enum`` or a plain type (``int``, ``list[str]``, ...). An object type
is asked for as it is; any other is wrapped in ``{"result": ...}`` because structured
output APIs (OpenAI's ``json_schema`` response format among them) need an object at the
root. The schema is sent as "strict" only when it fits the strict subset (every property
required, no extra properties, no keyword that constrained decoding cannot honour).
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pydantic import TypeAdapter, ValidationError, create_model
from pydantic.errors import PydanticSchemaGenerationError, PydanticUserError

from locus.models.base import OutputSpec

__all__ = ["InvalidOutput", "OutputProblem", "OutputSchema", "output_schema"]

_WRAP_KEY = "result"
_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]")
_FENCE = re.compile(r"^```[A-Za-z0-9_-]*\s*\n(?P<body>.*?)\n?```\s*$", re.DOTALL)
# Keywords constrained decoding does not honour; a schema using one is sent non-strict.
_NOT_STRICT = frozenset(
    {
        "allOf",
        "oneOf",
        "not",
        "if",
        "then",
        "else",
        "patternProperties",
        "propertyNames",
        "unevaluatedProperties",
        "unevaluatedItems",
        "dependentSchemas",
        "dependentRequired",
        "contains",
        "minContains",
        "maxContains",
        "prefixItems",
        "minProperties",
        "maxProperties",
        "uniqueItems",
        "minLength",
        "maxLength",
        "default",
    }
)


@dataclass(frozen=True, slots=True)
class OutputProblem:
    """Why a reply failed the output schema: the first field at fault and every problem."""

    field: str
    problems: tuple[str, ...]

    def summary(self) -> str:
        """The problems in one line, for messages to the model and to people."""
        return "; ".join(self.problems)


class InvalidOutput(Exception):
    """A reply failed the output schema (internal: the loop retries or raises)."""

    def __init__(self, problem: OutputProblem, text: str) -> None:
        super().__init__(problem.summary())
        self.problem = problem
        self.text = text


@dataclass(frozen=True, eq=False)
class OutputSchema:
    """The compiled form of one ``output_type``: what to ask for and how to check answers.

    Attributes:
        output_type: the type the agent's answers are validated into.
        spec: what the model is told (name, JSON Schema, strictness).
        wrapped: whether answers arrive as ``{"result": value}``.
    """

    output_type: Any
    spec: OutputSpec
    wrapped: bool
    _adapter: TypeAdapter[Any]

    def parse(self, text: str) -> Any:
        """Validate a model's reply (JSON text, code fences allowed) into ``output_type``.

        Raises:
            InvalidOutput: carrying an ``OutputProblem`` (internal: the loop turns it into a
                retry or an ``OutputValidationError``).
        """
        body = text.strip()
        fenced = _FENCE.match(body)
        if fenced:
            body = fenced.group("body").strip()
        if not body:
            raise InvalidOutput(
                OutputProblem("(output)", ("the reply is empty; expected JSON",)), text
            )
        try:
            value = self._adapter.validate_json(body)
        except ValidationError as exc:
            raise InvalidOutput(_problem(exc, self.wrapped), text) from None
        return getattr(value, _WRAP_KEY) if self.wrapped else value

    def retry_prompt(self, problem: OutputProblem) -> str:
        """What the model is told after a reply failed validation."""
        shape = '{"result": ...}' if self.wrapped else f"the {self.spec.name} schema"
        return (
            f"Your last reply did not match the required output format: {problem.summary()}. "
            f"Reply again with only a JSON value matching {shape}, and nothing else."
        )


def output_schema(output_type: Any) -> OutputSchema:
    """The compiled output schema of ``output_type`` (cached per type).

    Raises:
        TypeError: when pydantic cannot validate or describe ``output_type``; the message
            says why (``AgentConfig`` reports it as a ``ConfigurationError``).
    """
    try:
        return _compiled(output_type)
    except TypeError:
        # unhashable types (rare: Annotated with unhashable metadata) are compiled each time
        if _hashable(output_type):
            raise
        return _compile(output_type)


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


@lru_cache(maxsize=128)
def _compiled(output_type: Any) -> OutputSchema:
    return _compile(output_type)


def _compile(output_type: Any) -> OutputSchema:
    try:
        schema = TypeAdapter(output_type).json_schema()
    except (PydanticSchemaGenerationError, PydanticUserError) as exc:
        reason = str(exc).split("\n", 1)[0]
        raise TypeError(
            f"output_type {output_type!r} cannot be validated or described as JSON Schema "
            f"({reason}); use a pydantic model, dataclass, TypedDict, Literal, Enum or "
            "plain type"
        ) from None
    wrapped = not _is_object(schema)
    if wrapped:
        adapter: TypeAdapter[Any] = TypeAdapter(create_model("Output", result=(output_type, ...)))
        schema = adapter.json_schema()
    else:
        adapter = TypeAdapter(output_type)
    name = _name_of(output_type)
    description = schema.pop("description", "") if not wrapped else ""
    strict = _strict_form(schema)
    return OutputSchema(
        output_type=output_type,
        spec=OutputSpec(
            name=name,
            description=description if isinstance(description, str) else "",
            json_schema=strict if strict is not None else schema,
            strict=strict is not None,
        ),
        wrapped=wrapped,
        _adapter=adapter,
    )


def _is_object(schema: dict[str, Any]) -> bool:
    if schema.get("type") == "object":
        return True
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        target = schema.get("$defs", {}).get(ref.removeprefix("#/$defs/"), {})
        return isinstance(target, dict) and target.get("type") == "object" and "enum" not in target
    return False


def _name_of(output_type: Any) -> str:
    raw = getattr(output_type, "__name__", "") if isinstance(output_type, type) else ""
    name = _NAME_CHARS.sub("_", raw)[:64]
    return name or "output"


def _strict_form(schema: dict[str, Any]) -> dict[str, Any] | None:
    """``schema`` with ``additionalProperties: false`` on every object, or ``None`` when it
    does not fit the strict subset (an optional property, a free-form dict, a keyword
    constrained decoding cannot honour)."""
    strict = copy.deepcopy(schema)
    if isinstance(strict.get("$ref"), str):
        return None  # a root $ref is rejected by strict APIs; the object is in $defs
    return strict if _make_strict(strict) else None


def _make_strict(node: Any) -> bool:
    if isinstance(node, list):
        return all(_make_strict(item) for item in node)
    if not isinstance(node, dict):
        return True
    if _NOT_STRICT & node.keys():
        return False
    if node.get("type") == "object" or "properties" in node:
        properties = node.get("properties", {})
        extra = node.get("additionalProperties", False)
        if extra is not False or set(node.get("required", ())) != set(properties):
            return False
        node["additionalProperties"] = False
    for key, value in node.items():
        if key in ("properties", "$defs"):
            if not all(_make_strict(child) for child in value.values()):
                return False
        elif key in ("items", "anyOf") and not _make_strict(value):
            return False
    return True


def _problem(exc: ValidationError, wrapped: bool) -> OutputProblem:
    problems: list[str] = []
    first = ""
    for err in exc.errors(include_url=False)[:6]:
        loc = list(err["loc"])
        if wrapped and loc and loc[0] == _WRAP_KEY:
            loc = loc[1:]
        where = ".".join(str(part) for part in loc) or "(output)"
        first = first or where
        got = err.get("input")
        shown = "" if err["type"] in ("json_invalid", "missing") else f" (got {_short(got)})"
        problems.append(f"{where}: {err['msg']}{shown}")
    return OutputProblem(first or "(output)", tuple(problems))


def _short(value: Any) -> str:
    try:
        text = json.dumps(value, default=repr)
    except ValueError:
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
