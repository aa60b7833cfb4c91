"""Response schemas for typed ``interrupt()`` answers: JSON Schema out, validation in."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import TypeAdapter, ValidationError

from locus.core.interrupt import current_node_context
from locus.errors import InvalidResumeValueError

__all__ = ["json_schema_of", "validate_answer"]


@lru_cache(maxsize=256)
def _adapter(schema: Any) -> TypeAdapter[Any]:
    return TypeAdapter(schema)


def json_schema_of(schema: Any) -> dict[str, Any]:
    """The JSON Schema of a pydantic model or type, for drawing an answer form."""
    return _adapter(schema).json_schema()


def validate_answer(node: str, index: int, value: Any, schema: Any) -> Any:
    """Validate ``value`` against ``schema`` and return it as that type.

    Raises:
        InvalidResumeValueError: naming the node and the interrupt index.
    """
    try:
        return _adapter(schema).validate_python(value)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'answer'}: {err['msg']}"
            for err in exc.errors(include_url=False)[:4]
        )
        error = InvalidResumeValueError(
            f"the answer {value!r:.60} for interrupt #{index} of node {node!r} does not match "
            f"its response schema ({problems}); the interrupt stays pending"
        )
        current_node_context().fatal_error = error
        raise error from exc
