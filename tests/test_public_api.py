"""The package's public face: what `import locus` offers, and what it costs."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import locus
import locus.errors as errors

ROOT = Path(__file__).resolve().parents[1]


def test_top_level_names_are_pinned() -> None:
    assert sorted(locus.__all__) == sorted(
        [
            "END", "START", "Agent", "AgentConfig", "AgentResult", "Command", "GraphConfig",
            "GraphResult", "Interrupt", "InterruptState", "LocusError", "MockModel",
            "StateGraph", "Tool", "__version__", "emit", "interrupt", "once", "tool",
        ]
    )  # fmt: skip


def test_every_public_name_resolves_and_is_visible_to_type_checkers() -> None:
    for name in locus.__all__:
        assert getattr(locus, name) is not None, name
    tree = ast.parse((ROOT / "locus" / "__init__.py").read_text())
    checked: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for stmt in node.body:
                assert isinstance(stmt, ast.ImportFrom)
                checked.update(alias.name for alias in stmt.names)
    lazy = set(locus.__all__) - {"LocusError", "__version__"}
    assert lazy <= checked, lazy - checked


def test_version_comes_from_the_installed_metadata() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert locus.__version__ == project["version"]


def test_import_locus_loads_no_sdk_and_no_pydantic() -> None:
    code = (
        "import sys, locus, locus.multiagent, locus.core\n"
        "heavy = {'pydantic', 'openai', 'oci', 'psycopg', 'redis'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_error_class_is_exported_and_drawn_in_the_tree() -> None:
    classes = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, errors.LocusError)
    }
    assert classes == set(errors.__all__)
    assert errors.__doc__ is not None
    for name in classes - {"LocusError"}:
        assert f"── {name} " in errors.__doc__, name


def test_the_inbox_names_are_pinned_and_light() -> None:
    import locus.inbox

    assert sorted(locus.inbox.__all__) == sorted(
        [
            "Actor", "AnswerReceipt", "Answerers", "AuditCheck", "AuditEntry", "Escalate",
            "Expire", "Inbox", "InboxItem", "InboxPage", "TimeoutAction",
        ]
    )  # fmt: skip
    code = (
        "import sys, locus.inbox\n"
        "heavy = {'pydantic', 'openai', 'oci', 'psycopg', 'redis'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
