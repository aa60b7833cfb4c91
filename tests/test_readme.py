"""Every ```python block of README.md runs as written, on its own, offline with the mock.

Each block runs in a fresh interpreter in an empty directory (what a reader who pastes it
into a file gets), with real model requests switched off.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCKS = re.findall(
    r"^```python\n(.*?)^```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S | re.M
)
#: runs a block as __main__ after switching real provider requests off
OFFLINE = (
    "import runpy, sys; from locus.models.guard import set_allow_model_requests; "
    "set_allow_model_requests(False); runpy.run_path(sys.argv[1], run_name='__main__')"
)


def test_readme_has_python_blocks() -> None:
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i + 1}" for i in range(len(BLOCKS))])
def test_readme_python_block_runs_as_written(code: str, tmp_path: Path) -> None:
    script = tmp_path / "block.py"
    script.write_text(code, encoding="utf-8")
    env = {
        **os.environ,
        "LOCUS_MODEL_PROVIDER": "mock",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    env.pop("LOCUS_MODEL", None)

    done = subprocess.run(
        [sys.executable, "-c", OFFLINE, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 0, f"README block failed:\n{code}\n{done.stderr[-3000:]}"
    assert "Traceback" not in done.stderr
