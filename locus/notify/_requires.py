"""Fail with the extra to install, before anything imports a missing dependency."""

from __future__ import annotations

from importlib.util import find_spec

from locus.errors import MissingDependencyError

_MISSING = [name for name in ("httpx", "starlette") if find_spec(name) is None]
if _MISSING:  # pragma: no cover - depends on the installed extras
    raise MissingDependencyError(
        f"locus.notify needs {', '.join(_MISSING)}: pip install 'locus[web]'"
    )
