"""The ``locus`` command (also ``python -m locus``): a thin shell over the packages.

Each command group lives beside the package it drives and is listed in ``COMMAND_GROUPS``;
a group module has ``add_commands(subparsers)`` that adds its sub-commands, each with a
handler set through ``set_defaults(handler=...)``. A handler takes the parsed arguments and
an ``Output`` and returns the exit code. Group modules import their heavy dependencies
inside the handlers, so ``locus --help`` stays fast.

Errors a user can cause (every ``LocusError``) print one line on stderr and exit 1; a
wrong command line exits 2, as argparse does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any, TextIO

from locus.errors import LocusError

__all__ = ["COMMAND_GROUPS", "Output", "main", "run_async"]

COMMAND_GROUPS: tuple[str, ...] = ("locus.inbox.cli", "locus.workers.cli")
"""Modules that add command groups, in the order ``locus --help`` lists them."""

Handler = Callable[[argparse.Namespace, "Output"], int]


@dataclass
class Output:
    """Where a command writes: readable tables and colour on a terminal, plain when piped,
    JSON with ``--json``.

    Attributes:
        json_mode: print machine-readable JSON instead of tables.
        colour: use ANSI colour (a terminal, and ``NO_COLOR`` unset).
    """

    json_mode: bool = False
    colour: bool = False
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)

    def json(self, value: Any) -> None:
        """Print ``value`` as indented JSON (non-JSON values by their ``str``)."""
        print(json.dumps(value, indent=2, default=str, ensure_ascii=False), file=self.stdout)

    def line(self, text: str = "") -> None:
        """Print one line of text."""
        print(text, file=self.stdout)

    def style(self, text: str, *, bold: bool = False, dim: bool = False, colour: str = "") -> str:
        """Return ``text`` in bold, dim or one of red/green/yellow/blue/cyan, when colour is on."""
        if not self.colour:
            return text
        codes = {"red": "31", "green": "32", "yellow": "33", "blue": "34", "cyan": "36"}
        parts = [c for c in ("1" if bold else "", "2" if dim else "", codes.get(colour, "")) if c]
        return f"\x1b[{';'.join(parts)}m{text}\x1b[0m" if parts else text

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Print rows under headers in aligned columns; ``(none)`` when there are no rows."""
        if not rows:
            self.line(self.style("(none)", dim=True))
            return
        cells = [[_cell(v) for v in row] for row in rows]
        widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
        self.line(
            self.style(
                "  ".join(
                    h.upper().ljust(w) for h, w in zip(headers, widths, strict=True)
                ).rstrip(),
                bold=True,
            )
        )
        for row in cells:
            self.line("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())

    def error(self, message: str) -> None:
        """Print one error line on stderr."""
        print(f"{self.style('error:', bold=True, colour='red')} {message}", file=self.stderr)


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    text = text.replace("\n", " ")
    return text if len(text) <= 60 else text[:57] + "..."


def run_async(awaitable: Awaitable[int]) -> int:
    """Run a handler's coroutine to completion and return its exit code."""

    async def wrapped() -> int:
        return await awaitable

    return asyncio.run(wrapped())


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: global options and every command group's sub-commands."""
    parser = argparse.ArgumentParser(
        prog="locus", description="Run, inspect and answer locus workflows."
    )
    parser.add_argument("--version", action="version", version=f"locus {_version()}")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    groups = parser.add_subparsers(dest="group", metavar="COMMAND")
    for module_name in COMMAND_GROUPS:
        import_module(module_name).add_commands(groups)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (``sys.argv[1:]`` by default), run the command, return its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    out = Output(json_mode=args.json, colour=colour and not args.json)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(out.stdout)
        return 0 if args.group is None else 2
    try:
        return handler(args, out)
    except LocusError as exc:
        out.error(str(exc))
        return 1
    except KeyboardInterrupt:
        return 130


def _version() -> str:
    import locus

    return str(locus.__version__)


if __name__ == "__main__":  # pragma: no cover - python -m locus.cli
    raise SystemExit(main())
