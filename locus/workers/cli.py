"""``locus run``, ``locus worker`` and ``locus threads``: run a graph here, run workers,
and see and re-queue their threads.

    locus run app.graphs:triage --input '{"ticket": "T-1"}' [--thread ID --store URL]
    locus worker app.graphs:triage [more.module:GRAPH ...] --store URL --concurrency 8
    locus threads list --status running|ready|failed|paused --store URL
    locus threads show ID | history ID | audit ID | retry ID

``--store`` defaults to ``LOCUS_STORE``. ``MODULE:GRAPH`` names a ``StateGraph`` (or a
function of no arguments returning one) in an importable module: the operator's own
code, named on the command line, never anything read from the store.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import signal
import sys
from importlib import import_module
from typing import TYPE_CHECKING, Any

from locus.cli import Output, run_async
from locus.errors import ConfigurationError, InvalidInputError, ThreadNotFoundError

if TYPE_CHECKING:
    from locus.checkpoint import Checkpointer
    from locus.multiagent.graph import StateGraph

__all__ = ["add_commands", "load_graph"]

_STATUSES = ("running", "ready", "failed", "paused")


def add_commands(groups: Any) -> None:
    """Add ``run``, ``worker`` and ``threads`` to the ``locus`` command line."""
    run = groups.add_parser(
        "run",
        help="run a graph here, showing its progress live",
        description="Run one graph in this process until it pauses or finishes, rendered "
        "live (steps, nodes, agent tokens, tool calls, questions). With --thread and a "
        "store the run is durable, and --resume answers its pause.",
    )
    run.add_argument("graph", metavar="MODULE:GRAPH", help="the graph to run")
    run.add_argument("--input", default="{}", help="the run's inputs, a JSON object ({})")
    run.add_argument(
        "--resume", metavar="VALUE", help="answer the thread's pause (JSON, else a string)"
    )
    run.add_argument("--thread", metavar="ID", help="thread id; needs --store or LOCUS_STORE")
    _store_option(run)
    run.set_defaults(handler=_run)

    worker = groups.add_parser(
        "worker", help="run submitted work of some graphs", description=_worker_help()
    )
    worker.add_argument("graphs", nargs="+", metavar="MODULE:GRAPH", help="graphs to serve")
    _store_option(worker)
    worker.add_argument("--concurrency", type=int, default=4, help="threads run at once (4)")
    worker.add_argument(
        "--grace", type=float, default=30.0, help="seconds to finish in-flight runs on SIGTERM"
    )
    worker.add_argument("--poll", type=float, default=1.0, help="idle poll, seconds (1)")
    worker.add_argument(
        "--retry-backoff", type=float, default=0.5, help="seconds before a first retry (0.5)"
    )
    worker.add_argument(
        "--log-level", default="INFO", help="log level of the worker's log lines (INFO)"
    )
    worker.set_defaults(handler=_worker)

    threads = groups.add_parser("threads", help="list, inspect and re-queue threads")
    sub = threads.add_subparsers(dest="command", metavar="COMMAND")
    listing = sub.add_parser("list", help="threads with work queued, running, failed or paused")
    listing.add_argument("--status", choices=_STATUSES, help="only threads in this status")
    listing.add_argument("--graph", help="only threads of this graph")
    listing.add_argument("--limit", type=int, default=50, help="most rows shown (50)")
    _store_option(listing)
    listing.set_defaults(handler=_list)
    for name, handler, text in (
        ("show", _show, "a thread's latest state and its work"),
        ("history", _history, "a thread's checkpoints, newest first"),
        ("audit", _audit, "a thread's audit trail (asked, answered, resumed, ...), checked"),
        ("retry", _retry, "make a failed thread's work ready again"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("thread_id", metavar="ID")
        _store_option(cmd)
        cmd.set_defaults(handler=handler)


def _run(args: argparse.Namespace, out: Output) -> int:
    import json

    from locus.core.command import Command
    from locus.inbox.cli import parse_value
    from locus.observe.console import render

    graph = load_graph(args.graph)
    if args.thread is not None:
        graph.compile(checkpointer=_open(args))
    elif args.resume is not None:
        raise InvalidInputError("--resume answers a stored pause: give --thread ID and a store")
    inputs: Any
    if args.resume is not None:
        inputs = Command(resume=parse_value(args.resume))
    else:
        try:
            inputs = json.loads(args.input)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"--input is not JSON: {exc}") from None
        if not isinstance(inputs, dict):
            raise InvalidInputError("--input must be a JSON object of the run's inputs")

    async def go() -> int:
        try:
            stream = graph.stream(inputs, thread_id=args.thread)
            if out.json_mode:
                last = None
                async for event in stream:
                    last = event
                out.json({"final_state": getattr(last, "final_state", None)})
            else:
                await render(stream, out.stdout, color=out.colour)
            return 0
        finally:
            if graph.checkpointer is not None:
                await graph.checkpointer.aclose()

    return run_async(go())


def _worker_help() -> str:
    return (
        "Claim and carry out submitted runs and answers of the given graphs until SIGTERM "
        "or Ctrl-C; then let in-flight runs finish within --grace seconds."
    )


def _store_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", help="store URL (default: $LOCUS_STORE)")


def _open(args: argparse.Namespace) -> Checkpointer:
    from locus.checkpoint import connect
    from locus.checkpoint.connect import store_url_from_env

    url = args.store or store_url_from_env()
    if not url:
        raise ConfigurationError(
            "no store given: pass --store URL (e.g. sqlite:///locus.db) or set LOCUS_STORE"
        )
    return connect(url)


def load_graph(spec: str) -> StateGraph:
    """The graph named ``MODULE:ATTRIBUTE`` (a ``StateGraph`` or a function returning one).

    Raises:
        ConfigurationError: a malformed spec, a module that cannot be imported, or an
            attribute that is missing or not a graph.
    """
    from locus.multiagent.graph import StateGraph

    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ConfigurationError(f"{spec!r}: name a graph as MODULE:GRAPH, e.g. app.flows:triage")
    if "" not in sys.path:
        sys.path.insert(0, "")  # modules beside the working directory, as python -m does
    try:
        module = import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(f"{spec!r}: cannot import module {module_name!r}: {exc}") from exc
    found = getattr(module, attr, None)
    if found is not None and not isinstance(found, StateGraph) and callable(found):
        found = found()
    if not isinstance(found, StateGraph):
        raise ConfigurationError(
            f"{spec!r}: module {module_name!r} has no StateGraph (or function returning one) "
            f"named {attr!r}"
        )
    return found


class _LineFormatter(logging.Formatter):
    """``time level logger message key=value ...``: one greppable line per event."""

    _KEYS = ("worker", "graph", "thread_id", "node", "outcome", "steps", "attempts")

    def format(self, record: logging.LogRecord) -> str:
        at = dt.datetime.fromtimestamp(record.created, dt.UTC).strftime("%H:%M:%S.%f")[:-3]
        extra = " ".join(
            f"{k}={getattr(record, k)}" for k in self._KEYS if getattr(record, k, None) is not None
        )
        line = f"{at} {record.levelname.lower():7} {record.name} {record.getMessage()}"
        return f"{line}  {extra}" if extra else line


def _worker(args: argparse.Namespace, out: Output) -> int:
    from locus.workers.worker import Worker

    graphs = [load_graph(spec) for spec in args.graphs]
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_LineFormatter())
    logger = logging.getLogger("locus")
    logger.addHandler(handler)
    logger.setLevel(args.log_level.upper())

    async def run() -> int:
        cp = _open(args)
        async with cp:
            worker = Worker(
                cp,
                graphs,
                concurrency=args.concurrency,
                grace_seconds=args.grace,
                poll_seconds=args.poll,
                retry_backoff=args.retry_backoff,
            )
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, worker.stop)
            await worker.run()
        return 0

    return run_async(run())


async def _with_store(args: argparse.Namespace, fn: Any) -> int:
    cp = _open(args)
    async with cp:
        result: int = await fn(cp)
        return result


def _when(ts: float | dt.datetime | None) -> str:
    if ts is None:
        return ""
    if isinstance(ts, dt.datetime):
        return ts.isoformat(timespec="seconds")
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="seconds")


def _list(args: argparse.Namespace, out: Output) -> int:
    from locus.workers.queue import queue_for

    async def run(cp: Checkpointer) -> int:
        rows: list[dict[str, Any]] = []
        queue = queue_for(cp)
        if args.status != "paused":
            state = {"running": "claimed", "ready": "ready", "failed": "failed"}.get(
                args.status or ""
            )
            for item in await queue.items(state, args.graph, args.limit):  # type: ignore[arg-type]
                rows.append(
                    {
                        "thread_id": item.thread_id,
                        "graph": item.graph,
                        "status": "running" if item.state == "claimed" else item.state,
                        "kind": item.kind,
                        "worker": item.claimed_by,
                        "attempts": item.attempts,
                        "queued_at": _when(item.queued_at),
                        "error": item.error,
                    }
                )
        if args.status in (None, "paused"):
            page = await cp.list_pending(limit=args.limit)
            seen: set[str] = set()
            for p in page.items:
                if p.thread_id in seen or (args.graph and p.graph != args.graph):
                    continue
                seen.add(p.thread_id)
                rows.append(
                    {
                        "thread_id": p.thread_id,
                        "graph": p.graph,
                        "status": "paused",
                        "kind": f"node {p.node}",
                        "worker": None,
                        "attempts": None,
                        "queued_at": _when(p.created_at),
                        "error": None,
                    }
                )
        rows = rows[: args.limit]
        if out.json_mode:
            out.json(rows)
        else:
            headers = ["thread", "graph", "status", "kind", "worker", "attempts", "since", "error"]
            out.table(headers, [list(r.values()) for r in rows])
        return 0

    return run_async(_with_store(args, run))


def _show(args: argparse.Namespace, out: Output) -> int:
    from locus.multiagent.durable import thread_state
    from locus.workers.queue import queue_for

    async def run(cp: Checkpointer) -> int:
        item = await queue_for(cp).get(args.thread_id)
        try:
            state = await thread_state(cp, args.thread_id)
        except ThreadNotFoundError:
            if item is None:
                raise
            state = None
        shown: dict[str, Any] = {"thread_id": args.thread_id}
        if state is not None:
            shown |= {
                "status": state.status,
                "step": state.step,
                "checkpoint": state.checkpoint,
                "next": state.next,
                "updated_at": _when(state.created_at),
                "interrupts": [
                    {"id": i.interrupt.id, "node": i.node_id, "payload": i.interrupt.payload}
                    for i in state.interrupts
                ],
                "values": state.values,
            }
        if item is not None:
            shown["work"] = {
                "status": "running" if item.state == "claimed" else item.state,
                "kind": item.kind,
                "graph": item.graph,
                "worker": item.claimed_by,
                "attempts": item.attempts,
                "error": item.error,
                "queued_at": _when(item.queued_at),
            }
        if out.json_mode:
            out.json(shown)
            return 0
        for key, value in shown.items():
            if key in ("values", "work", "interrupts"):
                continue
            out.line(f"{out.style(key, bold=True)}: {value}")
        if item is not None:
            out.line(out.style("work:", bold=True))
            for key, value in shown["work"].items():
                if value is not None:
                    out.line(f"  {key}: {value}")
        for i in shown.get("interrupts", []):
            out.line(
                f"{out.style('pending:', bold=True)} {i['id']} at node {i['node']!r}: "
                f"{i['payload']!r}"
            )
        if state is not None:
            out.line(out.style("values:", bold=True))
            for key, value in state.values.items():
                out.line(f"  {key}: {value!r}"[:200])
        return 0

    return run_async(_with_store(args, run))


def _history(args: argparse.Namespace, out: Output) -> int:
    from locus.multiagent.durable import thread_history

    async def run(cp: Checkpointer) -> int:
        states = await thread_history(cp, args.thread_id)
        rows = [
            {
                "checkpoint": s.checkpoint,
                "status": s.status,
                "step": s.step,
                "next": ",".join(s.next),
                "at": _when(s.created_at),
                "keys": ",".join(sorted(s.values)),
            }
            for s in states
        ]
        if out.json_mode:
            out.json(rows)
        else:
            out.table(
                ["checkpoint", "status", "step", "next", "at", "keys"],
                [list(r.values()) for r in rows],
            )
        return 0

    return run_async(_with_store(args, run))


def _audit(args: argparse.Namespace, out: Output) -> int:
    from locus.inbox import Inbox

    async def run(cp: Checkpointer) -> int:
        inbox = Inbox(cp)
        entries = await inbox.audit(args.thread_id)
        if not entries and await cp.get(args.thread_id) is None:
            raise ThreadNotFoundError(f"no stored thread {args.thread_id!r}")
        check = await inbox.verify_audit(args.thread_id)
        rows = [
            {
                "seq": e.seq,
                "at": _when(e.at),
                "kind": e.kind,
                "node": e.node,
                "interrupt_id": e.interrupt_id,
                "actor": getattr(e.actor, "id", None),
                "data": e.data,
            }
            for e in entries
        ]
        if out.json_mode:
            out.json({"entries": rows, "verified": check.ok, "problems": check.problems})
            return 0 if check.ok else 1
        out.table(
            ["seq", "at", "kind", "node", "interrupt", "actor", "data"],
            [list(r.values()) for r in rows],
        )
        if check.ok:
            out.line(out.style("hash chain verified", colour="green"))
            return 0
        for problem in check.problems:
            out.error(problem)
        return 1

    return run_async(_with_store(args, run))


def _retry(args: argparse.Namespace, out: Output) -> int:
    from locus.workers.queue import queue_for

    async def run(cp: Checkpointer) -> int:
        queue = queue_for(cp)
        if not await queue.retry(args.thread_id):
            item = await queue.get(args.thread_id)
            if item is None:
                raise ThreadNotFoundError(f"thread {args.thread_id!r} has no failed work to retry")
            raise InvalidInputError(
                f"thread {args.thread_id!r} is {item.state}, not failed: nothing to retry"
            )
        if out.json_mode:
            out.json({"thread_id": args.thread_id, "status": "ready"})
        else:
            out.line(f"thread {args.thread_id} is ready again")
        return 0

    return run_async(_with_store(args, run))
