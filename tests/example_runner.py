"""Run an example the way a user does: ``python examples/...`` from the repository root,
offline on the mock model, on this checkout's code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_example(
    script: str,
    *args: str,
    cwd: Path = ROOT,
    first_on_path: Path | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run ``script`` (a path relative to ``cwd``) with ``args`` and return what it printed.

    The environment is the test's, with ``LOCUS_MODEL_PROVIDER=mock``, no ``LOCUS_MODEL``
    or ``LOCUS_STORE``, and this checkout ahead of any installed locus (``first_on_path``,
    if given, ahead of both). The caller checks the return code.
    """
    paths = [str(first_on_path)] if first_on_path is not None else []
    paths += [str(ROOT), os.environ.get("PYTHONPATH", "")]
    env = {
        **os.environ,
        "LOCUS_MODEL_PROVIDER": "mock",
        "PYTHONPATH": os.pathsep.join(filter(None, paths)),
    }
    env.pop("LOCUS_MODEL", None)
    env.pop("LOCUS_STORE", None)
    return subprocess.run(
        [sys.executable, script, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
