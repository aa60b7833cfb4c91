"""Build hook: an editable install exposes ``providers/`` as ``locus_providers`` too.

A normal wheel installs the repository's ``providers/`` folder as the package
``locus_providers`` (the ``sources`` mapping in pyproject.toml), so that a user's own
``providers.py`` cannot shadow it. Hatchling's editable installs cannot rename a folder,
so the editable wheel gets a one-file ``locus_providers`` package whose ``__path__`` is
this checkout's ``providers/``: edits there take effect at once, under the installed name.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

INSTALLED_NAME = "locus_providers"

_SHIM = '''"""locus's provider adapters, installed in editable mode from {source}."""

__path__ = [{source!r}]
__file__ = {init!r}
with open(__file__, encoding="utf-8") as _init:
    exec(compile(_init.read(), __file__, "exec"))
del _init
'''


class CustomBuildHook(BuildHookInterface):
    """Adds the ``locus_providers`` shim to editable wheels; standard wheels are untouched."""

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if version != "editable":
            return
        source = Path(self.root, "providers").resolve()
        self._shim_dir = tempfile.mkdtemp(prefix="locus-editable-")
        shim = Path(self._shim_dir, "__init__.py")
        shim.write_text(_SHIM.format(source=str(source), init=str(source / "__init__.py")))
        # The project configures no force-include, which this map would replace.
        build_data["force_include_editable"][str(shim)] = f"{INSTALLED_NAME}/__init__.py"

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        shim_dir = getattr(self, "_shim_dir", None)
        if shim_dir is not None:
            shutil.rmtree(shim_dir, ignore_errors=True)
