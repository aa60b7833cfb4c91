"""Check an answer against a stored JSON Schema, without the class that produced it.

The answering process (a web inbox, a chat button) need not import the graph's code, so
an answer is checked against the JSON Schema stored with the pause. This covers the
keywords pydantic emits for answer types: ``type``, ``enum``, ``const``, ``properties``,
``required``, ``additionalProperties``, ``items``, ``anyOf``/``oneOf``/``allOf``,
``minimum``/``maximum``, ``minLength``/``maxLength`` and local ``$ref`` to ``$defs``. The
node validates again with the real type when it re-runs.
"""

from __future__ import annotations

from typing import Any

__all__ = ["schema_problem"]

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list, tuple),
    "null": (type(None),),
}


def _is(value: Any, name: str) -> bool:
    kinds = _TYPES.get(name)
    if kinds is None:
        return True  # an unknown type name constrains nothing here
    if isinstance(value, bool) and name in ("integer", "number"):
        return False
    return isinstance(value, kinds)


def schema_problem(value: Any, schema: Any, path: str = "answer", root: Any = None) -> str | None:
    """The first way ``value`` breaks ``schema``, naming the field; ``None`` if it fits."""
    root = schema if root is None else root
    if not isinstance(schema, dict):
        return None
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part) if isinstance(target, dict) else None
        return schema_problem(value, target, path, root)
    kind = schema.get("type")
    if isinstance(kind, str) and not _is(value, kind):
        return f"{path} must be of type {kind}, got {type(value).__name__}"
    if isinstance(kind, list) and not any(_is(value, k) for k in kind):
        return f"{path} must be one of the types {kind}, got {type(value).__name__}"
    if "const" in schema and value != schema["const"]:
        return f"{path} must be {schema['const']!r}"
    if "enum" in schema and value not in schema["enum"]:
        return f"{path} must be one of {schema['enum']!r}, got {value!r}"
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and all(schema_problem(value, o, path, root) for o in options):
            return f"{path} matches none of the allowed shapes"
    for part in schema.get("allOf") or ():
        problem = schema_problem(value, part, path, root)
        if problem:
            return problem
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            return f"{path} must be >= {schema['minimum']}, got {value!r}"
        if "maximum" in schema and value > schema["maximum"]:
            return f"{path} must be <= {schema['maximum']}, got {value!r}"
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            return f"{path} must have at least {schema['minLength']} characters"
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            return f"{path} must have at most {schema['maxLength']} characters"
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        for name in schema.get("required") or ():
            if name not in value:
                return f"{path}[{name!r}] is required"
        for name, item in value.items():
            if name in props:
                problem = schema_problem(item, props[name], f"{path}[{name!r}]", root)
                if problem:
                    return problem
            elif schema.get("additionalProperties") is False:
                return f"{path}[{name!r}] is not an allowed field"
    if isinstance(value, list | tuple) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            problem = schema_problem(item, schema["items"], f"{path}[{i}]", root)
            if problem:
                return problem
    return None
