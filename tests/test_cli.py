"""The ``locus`` command's shell: entry points, plain output when piped, errors as one line."""

from __future__ import annotations

import argparse
import io
import subprocess
import sys

import pytest

from locus import cli
from locus.errors import ThreadNotFoundError


def test_python_dash_m_locus_prints_the_version() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "locus", "--version"], capture_output=True, text=True, check=True
    )
    assert done.stdout.startswith("locus ")


def test_table_is_plain_aligned_text_when_colour_is_off() -> None:
    out = cli.Output(stdout=io.StringIO())
    out.table(["id", "node"], [["i-1", "approve"], ["i-22", "ask\nagain"]])
    lines = out.stdout.getvalue().splitlines()  # type: ignore[attr-defined]
    assert lines == ["ID    NODE", "i-1   approve", "i-22  ask again"]
    assert "\x1b[" not in out.stdout.getvalue()  # type: ignore[attr-defined]


def test_a_locus_error_prints_one_line_and_exits_one(monkeypatch: pytest.MonkeyPatch) -> None:
    def handler(args: argparse.Namespace, out: cli.Output) -> int:
        raise ThreadNotFoundError("no stored thread 't-9'")

    def add_commands(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        groups.add_parser("boom").set_defaults(handler=handler)

    module = type(sys)("fake_group")
    module.add_commands = add_commands  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_group", module)
    monkeypatch.setattr(cli, "COMMAND_GROUPS", ("fake_group",))
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    assert cli.main(["boom"]) == 1
    assert stderr.getvalue() == "error: no stored thread 't-9'\n"
