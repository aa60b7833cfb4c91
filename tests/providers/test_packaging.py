"""The adapters install as ``locus_providers``, so a user's own ``providers`` module or
folder beside their script cannot shadow them; and the entry points name that package.

The wheels are built with hatchling's own builder (what ``pip install .`` and
``pip install -e .`` run) and used from a fresh interpreter whose working directory holds a
hostile ``providers.py`` or ``providers/``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
from hatchling.builders.wheel import WheelBuilder

ROOT = Path(__file__).resolve().parents[2]

HOSTILE = 'raise SystemExit("the user\'s own providers module was imported")\n'

CLIENT = textwrap.dedent(
    """
    import sys
    from locus.models import infer_model

    model = infer_model("openai:gpt-4.1", api_key="sk-test-packaging")
    print(type(model).__module__, type(model).__name__)
    print("user providers imported:", "providers" in sys.modules)
    """
)


def build_wheel(version: str, directory: Path) -> Path:
    builder = WheelBuilder(str(ROOT))
    return Path(next(iter(builder.build(directory=str(directory), versions=[version]))))


def entry_points_of(wheel: zipfile.ZipFile) -> str:
    name = next(n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt"))
    return wheel.read(name).decode()


def hostile_project(tmp_path: Path, shape: str) -> Path:
    """A user's project folder whose ``providers`` would shadow a top-level package."""
    project = tmp_path / "project"
    project.mkdir()
    if shape == "module":
        (project / "providers.py").write_text(HOSTILE)
    else:
        (project / "providers" / "openai").mkdir(parents=True)
        (project / "providers" / "__init__.py").write_text("")
        (project / "providers" / "openai" / "__init__.py").write_text(HOSTILE)
    (project / "main.py").write_text(CLIENT)
    return project


def run_script(project: Path, pythonpath: Path | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(
        [sys.executable, "main.py"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_wheel_installs_the_adapters_as_locus_providers_and_no_top_level_providers(
    tmp_path: Path,
) -> None:
    with zipfile.ZipFile(build_wheel("standard", tmp_path)) as wheel:
        names = wheel.namelist()
        entry_points = entry_points_of(wheel)
    assert "locus_providers/openai/__init__.py" in names
    assert "locus_providers/oci/__init__.py" in names
    assert "locus_providers/py.typed" in names
    assert not [n for n in names if n.startswith("providers/")]
    assert "openai = locus_providers.openai:create_model" in entry_points
    assert "oci = locus_providers.oci:create_model" in entry_points


@pytest.mark.parametrize("shape", ["module", "package"])
def test_installed_wheel_gets_the_openai_model_beside_a_users_providers(
    tmp_path: Path, shape: str
) -> None:
    with zipfile.ZipFile(build_wheel("standard", tmp_path)) as wheel:
        wheel.extractall(tmp_path / "site")
    project = hostile_project(tmp_path, shape)

    done = run_script(project, pythonpath=tmp_path / "site")

    assert done.returncode == 0, done.stderr
    assert "locus_providers.openai.model OpenAIModel" in done.stdout
    assert "user providers imported: False" in done.stdout


def test_editable_wheel_maps_locus_providers_onto_the_checkout(tmp_path: Path) -> None:
    with zipfile.ZipFile(build_wheel("editable", tmp_path)) as wheel:
        shim = wheel.read("locus_providers/__init__.py").decode()
        pth = next(wheel.read(n).decode() for n in wheel.namelist() if n.endswith(".pth"))
        entry_points = entry_points_of(wheel)
    assert str(ROOT / "providers") in shim
    assert pth.splitlines() == [str(ROOT)]
    assert "openai = locus_providers.openai:create_model" in entry_points


@pytest.mark.parametrize("shape", ["module", "package"])
def test_this_environments_install_gets_the_openai_model_beside_a_users_providers(
    tmp_path: Path, shape: str
) -> None:
    # The interpreter running the tests has locus installed as the README says
    # (pip install -e), with no PYTHONPATH: what a user's script sees.
    project = hostile_project(tmp_path, shape)

    done = run_script(project, pythonpath=None)

    assert done.returncode == 0, done.stderr
    assert "locus_providers.openai.model OpenAIModel" in done.stdout
    assert "user providers imported: False" in done.stdout
