"""config.py is a thin harness over ``locus.models.from_env()``; nothing depends on it.

The environment rules themselves are tested in tests/models/test_model_from_env.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

from config import get_model, resolve_model_string
from locus.errors import ConfigurationError
from locus.models import MockModel
from locus.models.env import model_string_from_env

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


def test_get_model_is_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("LOCUS_MODEL_PROVIDER", "mock")
    monkeypatch.setenv("LOCUS_MODEL", "harness")

    model = get_model()

    assert isinstance(model, MockModel)
    assert model.name == "mock:harness"
    assert resolve_model_string is model_string_from_env
    monkeypatch.setenv("LOCUS_MODEL_PROVIDER", "azure")
    with pytest.raises(ConfigurationError, match="LOCUS_MODEL_PROVIDER='azure'"):
        get_model()


def test_the_library_never_imports_config() -> None:
    code = (
        "import sys, locus, locus.agent, locus.models, locus.tools\nprint('config' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT), "PATH": ""},
    )
    assert done.stdout.strip() == "False"


# The editable install puts the repository root on sys.path (a .pth file), where config.py
# sits. To run an example the way a `pip install` user does, the child interpreter starts
# with -I -S (no .pth files, no PYTHONPATH, no script directory) and sees only the
# installed dependencies and a copy of exactly the packages the wheel ships.
_RUN_INSTALLED = """
import runpy, sys
sys.path[:] = [sys.argv[1], *sys.argv[2].split({sep!r}), *sys.path]
try:
    import config
except ImportError:
    pass
else:
    raise SystemExit("config.py is importable: this run would prove nothing")
sys.argv = [sys.argv[3]]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


@pytest.fixture(scope="module")
def installed_packages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding a copy of what the wheel installs, and nothing else."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = project["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    site = tmp_path_factory.mktemp("site")
    for package in packages:
        shutil.copytree(
            ROOT / package, site / Path(package).name, ignore=shutil.ignore_patterns("__pycache__")
        )
    return site


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs_from_the_installed_package_without_config(
    path: Path, installed_packages: Path, tmp_path: Path
) -> None:
    script = tmp_path / path.name
    shutil.copy(path, script)
    dependencies = os.pathsep.join(
        dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "LOCUS_MODEL_PROVIDER": "mock",
    }

    done = subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",
            "-c",
            _RUN_INSTALLED.format(sep=os.pathsep),
            str(installed_packages),
            dependencies,
            str(script),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 0, f"{path.name}:\n{done.stdout[-1500:]}\n{done.stderr[-3000:]}"
    assert done.stdout.strip()
