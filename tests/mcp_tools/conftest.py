"""A real MCP server for the tests: ``notes_server.py``, over stdio or over HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from locus.mcp import MCPServer

SERVER = Path(__file__).with_name("notes_server.py")


class NotesLog:
    """What the server processes wrote: their starts and every tool call."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def entries(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines()]

    def calls(self) -> list[tuple[str, str]]:
        return [(e["tool"], e["name"]) for e in self.entries() if "tool" in e]

    def pids(self) -> list[int]:
        return [e["pid"] for e in self.entries() if e.get("event") == "start"]


@pytest.fixture
def notes_log(tmp_path: Path) -> NotesLog:
    return NotesLog(tmp_path / "notes.log")


@pytest.fixture
def notes_server(notes_log: NotesLog) -> Callable[..., MCPServer]:
    """``MCPServer.stdio`` for the notes server; keywords go to ``MCPServer.stdio``."""

    def make(**options: Any) -> MCPServer:
        options.setdefault("name", "notes")
        return MCPServer.stdio(
            sys.executable, [str(SERVER)], env={"NOTES_LOG": str(notes_log.path)}, **options
        )

    return make


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def http_notes_url(notes_log: NotesLog) -> Iterator[str]:
    """The notes server started as a process serving Streamable HTTP on a loopback port."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, str(SERVER), "--http", str(port)],
        env={**os.environ, "NOTES_LOG": str(notes_log.path)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the HTTP notes server did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=10)
