"""``render``: a graph run in the terminal as it happens.

Feed it ``graph.stream(...)``. Steps and nodes are shown with their timings, what agents
stream (tokens, tool calls and results) indented under their node, and pauses
highlighted with the question asked. On a terminal, text appears token by token, in
colour; written to a file or a pipe, every line is complete and plain.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import AsyncIterable
from typing import Any, TextIO

__all__ = ["render"]

_STYLES = {
    "step": "\033[1;36m",
    "node": "\033[1m",
    "ok": "\033[32m",
    "dim": "\033[2m",
    "tool": "\033[35m",
    "error": "\033[31m",
    "pause": "\033[1;33m",
    "text": "\033[37m",
}
_RESET = "\033[0m"


def _short(value: Any, limit: int = 90) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _question(payload: Any) -> str:
    if isinstance(payload, dict):
        for key in ("question", "message", "prompt"):
            if isinstance(payload.get(key), str):
                return str(payload[key])
        if payload.get("type") == "tool_approval":
            return f"approve {payload.get('tool')}({_short(payload.get('arguments', {}), 60)})?"
    return _short(payload)


class _Screen:
    """Where lines go: colour and token-by-token text only on a terminal."""

    def __init__(self, out: TextIO, color: bool, live: bool) -> None:
        self.out = out
        self.color = color
        self.live = live
        self.open_text: str | None = None  # agent whose streamed text line is unfinished
        self.buffered: dict[str, str] = {}

    def paint(self, style: str, text: str) -> str:
        return f"{_STYLES[style]}{text}{_RESET}" if self.color else text

    def line(self, text: str) -> None:
        self.close_text()
        self.out.write(text + "\n")
        self.out.flush()

    def text(self, indent: str, agent: str, chunk: str) -> None:
        if not self.live:
            self.buffered[agent] = self.buffered.get(agent, "") + chunk
            return
        if self.open_text != agent:
            self.close_text()
            self.out.write(f"{indent}{self.paint('dim', agent + ' ▸')} ")
            self.open_text = agent
        self.out.write(self.paint("text", chunk.replace("\n", " ")))
        self.out.flush()

    def end_text(self, indent: str, agent: str) -> None:
        if self.live:
            if self.open_text == agent:
                self.close_text()
            return
        text = self.buffered.pop(agent, "")
        if text:
            self.line(f"{indent}{agent} ▸ {_short(text, 200)}")

    def close_text(self) -> None:
        if self.open_text is not None:
            self.out.write("\n")
            self.open_text = None


async def render(
    stream: AsyncIterable[Any], file: TextIO | None = None, *, color: bool | None = None
) -> Any:
    """Print the events of ``stream`` (a ``graph.stream(...)``) as they arrive.

    Args:
        stream: the events of one graph run (agent events from its nodes included).
        file: where to write; standard output by default.
        color: force colours and live token output on or off; by default they are on
            when ``file`` is a terminal and ``NO_COLOR`` is not set.

    Returns:
        The stream's last event (``GraphFinishedEvent``: its ``final_state`` is the
        resumable snapshot when the run paused), or ``None`` if the stream had none.
    """
    out = file if file is not None else sys.stdout
    if color is None:
        color = bool(getattr(out, "isatty", lambda: False)()) and "NO_COLOR" not in os.environ
    screen = _Screen(out, color, live=color)
    began = time.perf_counter()
    step: int | None = None
    started: dict[str, float] = {}
    node_pad = "  "
    agent_pad = "      "
    last: Any = None
    async for event in stream:
        last = event
        kind = getattr(event, "type", None)
        if kind == "node_started":
            if event.step != step:
                step = event.step
                screen.line(screen.paint("step", f"step {step}"))
            started[event.node] = time.perf_counter()
            screen.line(f"{node_pad}{screen.paint('node', '● ' + event.node)}")
        elif kind == "node_finished":
            seen = (time.perf_counter() - started.pop(event.node, time.perf_counter())) * 1e3
            took = event.elapsed_ms if event.elapsed_ms is not None else seen
            keys = ", ".join(sorted(event.update)) or "no update"
            goto = f" → {', '.join(event.goto)}" if event.goto else ""
            screen.line(
                f"{node_pad}{screen.paint('ok', '✓ ' + event.node)} "
                f"{screen.paint('dim', f'{took:.2f} ms  [{keys}]{goto}')}"
            )
        elif kind == "text_delta":
            screen.text(agent_pad, event.agent_id, event.text)
        elif kind == "model_response":
            screen.end_text(agent_pad, event.agent_id)
            usage = event.usage
            screen.line(
                agent_pad
                + screen.paint(
                    "dim",
                    f"{event.agent_id}: {event.model or 'model'} answered "
                    f"({usage.input_tokens} in / {usage.output_tokens} out tokens, "
                    f"{event.finish_reason})",
                )
            )
        elif kind == "tool_call":
            call = event.tool_call
            screen.line(
                f"{agent_pad}{screen.paint('tool', '⚙ ' + call.name)}({_short(call.arguments, 70)})"
            )
        elif kind == "tool_result":
            style = "error" if event.is_error else "dim"
            screen.line(f"{agent_pad}{screen.paint(style, '← ' + _short(event.content))}")
        elif kind == "terminate":
            if event.stop_reason == "error":
                screen.line(f"{agent_pad}{screen.paint('error', f'✗ {event.error}')}")
        elif kind == "graph_interrupted":
            for item in event.interrupts:
                payload = item.get("payload")
                screen.line(
                    f"{node_pad}"
                    + screen.paint("pause", f"‖ paused at {item.get('node')}: {_question(payload)}")
                )
                if isinstance(payload, dict) and isinstance(payload.get("options"), list):
                    options = " / ".join(map(str, payload["options"]))
                    screen.line(f"{agent_pad}options: {options}")
                if isinstance(payload, dict) and "draft" in payload:
                    screen.line(f"{agent_pad}draft: {_short(payload['draft'], 200)}")
                screen.line(agent_pad + screen.paint("dim", f"interrupt id {item.get('id')}"))
        elif kind == "graph_finished":
            took = (time.perf_counter() - began) * 1e3
            status = "paused" if event.is_interrupted else "finished"
            style = "pause" if event.is_interrupted else "ok"
            screen.line(
                screen.paint(style, f"■ {status}")
                + screen.paint("dim", f"  {took:.1f} ms, path: {' → '.join(event.path) or '-'}")
            )
        elif kind == "custom":
            screen.line(f"{agent_pad}• {event.node}: {_short(event.data)}")
        elif kind not in ("model_request",):
            screen.line(f"{agent_pad}{_short(event if kind is None else kind)}")
    screen.close_text()
    out.flush()
    return last
