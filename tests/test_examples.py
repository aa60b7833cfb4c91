"""Every example runs offline, top to bottom, the way a user runs it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.example_runner import ROOT, run_example

EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


def test_there_are_examples() -> None:
    assert [p.name for p in EXAMPLES if p.name.startswith("02_")] == ["02_multi_agent_triage.py"]


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs_on_the_mock(path: Path) -> None:
    done = run_example(str(path.relative_to(ROOT)))

    assert done.returncode == 0, (
        f"{path.name} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    )
    assert done.stdout.strip(), f"{path.name} printed nothing"
    assert "Traceback" not in done.stderr


def test_triage_example_shows_every_pattern() -> None:
    done = run_example("examples/02_multi_agent_triage.py")

    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "paused at: approve - Send this reply?" in out
    assert "human: yes -> sent" in out
    assert "paused at: triage - Triage is unsure." in out
    assert "human: no -> cancelled by reviewer" in out
    assert "paused in: technical - Which app version is the customer on?" in out
    assert "Our engineers say: version 3.2, fixed in 3.3." in out


def test_durable_example_commands_work_on_a_fresh_clone(tmp_path: Path) -> None:
    """``inbox`` and ``resume`` before any ``pause``: no .locus/ folder exists yet."""
    clone = tmp_path / "clone"
    (clone / "examples").mkdir(parents=True)
    example = clone / "examples" / "04_durable_pause.py"
    example.write_text((ROOT / "examples" / "04_durable_pause.py").read_text())

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return run_example("examples/04_durable_pause.py", *args, cwd=clone)

    inbox = run("inbox")
    assert inbox.returncode == 0, inbox.stderr
    assert "nothing is waiting for a human" in inbox.stdout
    resume = run("resume", "yes")
    assert resume.returncode == 0, resume.stderr
    assert "no stored thread 'ticket-42'" in resume.stdout and "run `pause` first" in resume.stdout
    assert run("pause").returncode == 0
    assert "waiting: thread 'ticket-42'" in run("inbox").stdout


#: the optional extras' top-level packages; the base install (`pip install -e .`) has none
EXTRAS = (
    "fastapi",
    "httpx",
    "jinja2",
    "mcp",
    "multipart",
    "oci",
    "openai",
    "opentelemetry",
    "psycopg",
    "psycopg_pool",
    "redis",
    "uvicorn",
)
#: examples whose docstring and the README name the extra they need
NEED_EXTRAS = {"10_mcp_tools.py": "mcp", "07_support_desk/review_desk.py": "web"}


def without_extras(folder: Path) -> Path:
    """``folder``, holding a stand-in for each extra's package that cannot be imported."""
    for name in EXTRAS:
        (folder / name).mkdir()
        (folder / name / "__init__.py").write_text(
            f"raise ModuleNotFoundError(\"No module named '{name}'\", name='{name}')\n"
        )
    return folder


@pytest.mark.parametrize(
    "path",
    [p for p in EXAMPLES if p.name not in NEED_EXTRAS],
    ids=[p.name for p in EXAMPLES if p.name not in NEED_EXTRAS],
)
def test_example_runs_on_the_base_install(path: Path, tmp_path: Path) -> None:
    """The README's demo installs only `-e .`: no provider SDK, no web or MCP extra."""
    done = run_example(str(path.relative_to(ROOT)), first_on_path=without_extras(tmp_path))

    assert done.returncode == 0, f"{path.name} failed:\n{done.stderr[-4000:]}"
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("script", sorted(NEED_EXTRAS))
def test_an_example_needing_an_extra_says_which_on_the_base_install(
    script: str, tmp_path: Path
) -> None:
    done = run_example(f"examples/{script}", first_on_path=without_extras(tmp_path))

    assert done.returncode == 1
    assert f"pip install -e '.[{NEED_EXTRAS[script]}]'" in done.stderr
    assert "Traceback" not in done.stderr
