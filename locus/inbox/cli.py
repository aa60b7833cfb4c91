"""``locus inbox``: list, show and answer pending interrupts; serve the web app; add tokens.

``VALUE`` of ``answer`` is read as JSON when it parses (``true``, ``{"a": 1}``, ``"x"``),
else taken as a plain string. The store comes from ``--store`` or ``LOCUS_STORE``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any

from locus.cli import Output, run_async
from locus.errors import ConfigurationError

if TYPE_CHECKING:
    from locus.checkpoint import Checkpointer
    from locus.inbox import InboxItem

__all__ = ["add_commands", "parse_value"]


def add_commands(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``locus inbox ...`` to the ``locus`` command line."""
    inbox = groups.add_parser("inbox", help="pending interrupts: list, show, answer, serve")
    commands = inbox.add_subparsers(dest="command", metavar="COMMAND")
    inbox.set_defaults(handler=lambda args, out: _usage(inbox, out))

    listing = commands.add_parser("list", help="pending items, newest first")
    _store_option(listing)
    listing.add_argument("--graph", help="only items of this graph")
    listing.add_argument("--node", help="only items asked by this node")
    listing.add_argument("--overdue", action="store_true", help="only items past their deadline")
    listing.add_argument("--limit", type=int, default=50, help="items per page (default 50)")
    listing.add_argument("--cursor", help="the next_cursor a previous page printed")
    listing.set_defaults(handler=_list)

    show = commands.add_parser("show", help="one item: its question, answer form and audit trail")
    _store_option(show)
    show.add_argument("id", metavar="ID", help="the interrupt id")
    show.set_defaults(handler=_show)

    answer = commands.add_parser("answer", help="answer an item as an actor")
    _store_option(answer)
    answer.add_argument("id", metavar="ID", help="the interrupt id")
    answer.add_argument("value", metavar="VALUE", help="the answer: JSON when it parses, else text")
    answer.add_argument("--as", dest="actor", required=True, metavar="ACTOR", help="actor id")
    answer.add_argument("--roles", default="", help="the actor's roles, comma-separated")
    answer.add_argument("--reason", help="why, kept in the audit trail")
    answer.add_argument("--digest", help="the digest `show` printed, to refuse a changed item")
    answer.set_defaults(handler=_answer)

    serve = commands.add_parser("serve", help="serve the inbox web app (needs locus[web])")
    _store_option(serve)
    serve.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    auth = serve.add_mutually_exclusive_group()
    auth.add_argument("--tokens-file", help="tokens file (default $LOCUS_INBOX_TOKENS_FILE)")
    auth.add_argument(
        "--insecure-no-auth",
        action="store_true",
        help="NO authentication: everyone answers as --as (local demos only)",
    )
    serve.add_argument("--as", dest="actor", default="local-demo", help=argparse.SUPPRESS)
    serve.set_defaults(handler=_serve)

    token = commands.add_parser("add-token", help="create a token; prints it once, stores its hash")
    token.add_argument("actor", metavar="ACTOR", help="actor id")
    token.add_argument("--roles", default="", help="comma-separated roles")
    token.add_argument("--display-name", help="name shown in the pages and the audit trail")
    token.add_argument("--tokens-file", help="tokens file (default $LOCUS_INBOX_TOKENS_FILE)")
    token.set_defaults(handler=_add_token)


def parse_value(text: str) -> Any:
    """A command-line answer: JSON when it parses, else the text itself."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _usage(parser: argparse.ArgumentParser, out: Output) -> int:
    parser.print_help(out.stdout)
    return 2


def _store_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", metavar="URL", help="store URL (default $LOCUS_STORE)")


def _checkpointer(args: argparse.Namespace) -> Checkpointer:
    from locus.checkpoint import connect
    from locus.checkpoint.connect import store_url_from_env

    url = args.store or store_url_from_env()
    if not url:
        raise ConfigurationError(
            "no store given: pass --store URL (e.g. sqlite:///app.db) or set LOCUS_STORE"
        )
    return connect(url)


def _roles(text: str) -> frozenset[str]:
    return frozenset(r.strip() for r in text.split(",") if r.strip())


def _row(item: InboxItem) -> list[Any]:
    from locus.inbox.present import due_text, item_summary

    return [
        item.id,
        item.graph,
        item.node,
        item.thread_id,
        item_summary(item),
        due_text(item.deadline),
    ]


def _list(args: argparse.Namespace, out: Output) -> int:
    from locus.inbox import Inbox

    async def run() -> int:
        async with _checkpointer(args) as cp:
            page = await Inbox(cp).pending(
                graph=args.graph,
                node=args.node,
                overdue=True if args.overdue else None,
                limit=args.limit,
                cursor=args.cursor,
            )
        if out.json_mode:
            from locus.inbox.present import item_json

            out.json({"items": [item_json(i) for i in page.items], "next_cursor": page.next_cursor})
            return 0
        out.table(
            ["id", "graph", "node", "thread", "question", "due"], [_row(i) for i in page.items]
        )
        if page.next_cursor:
            out.line(out.style(f"more: --cursor {page.next_cursor}", dim=True))
        return 0

    return run_async(run())


def _show(args: argparse.Namespace, out: Output) -> int:
    from locus.inbox import Inbox
    from locus.inbox.present import audit_json, due_text, item_json, item_summary, pretty

    async def run() -> int:
        async with _checkpointer(args) as cp:
            inbox = Inbox(cp)
            item = await inbox.get(args.id)
            trail = await inbox.audit(item.thread_id)
        if out.json_mode:
            out.json({"item": item_json(item), "audit": [audit_json(e) for e in trail]})
            return 0
        out.line(out.style(item_summary(item), bold=True))
        facts = [
            ("id", item.id),
            ("thread", item.thread_id),
            ("graph · node", f"{item.graph} · {item.node}"),
            ("asked", item.created_at.isoformat(timespec="seconds")),
            (
                "due",
                f"{item.deadline.isoformat(timespec='seconds')} ({due_text(item.deadline)})"
                if item.deadline
                else "no deadline",
            ),
            ("digest", item.digest),
        ]
        for key, value in facts:
            out.line(f"{out.style(key.ljust(13), dim=True)} {value}")
        out.line()
        out.line(out.style("payload", bold=True))
        out.line(pretty(item.payload))
        if item.response_schema:
            out.line(out.style("answer schema", bold=True))
            out.line(pretty(item.response_schema))
        out.line()
        out.line(out.style("audit trail", bold=True))
        out.table(
            ["seq", "at", "kind", "actor"],
            [
                [e.seq, e.at.isoformat(timespec="seconds"), e.kind, _actor_id(e.actor)]
                for e in trail
            ],
        )
        return 0

    return run_async(run())


def _actor_id(actor: Any) -> str:
    if actor is None:
        return ""
    if isinstance(actor, dict):
        return str(actor.get("id", ""))
    return str(getattr(actor, "id", actor))


def _answer(args: argparse.Namespace, out: Output) -> int:
    from locus.inbox import Actor, Inbox

    async def run() -> int:
        async with _checkpointer(args) as cp:
            receipt = await Inbox(cp).answer(
                args.id,
                parse_value(args.value),
                actor=Actor(args.actor, _roles(args.roles)),
                reason=args.reason,
                digest=args.digest,
            )
        result = {
            "interrupt_id": args.id,
            "thread_id": receipt.item.thread_id,
            "complete": receipt.complete,
            "answers_needed": receipt.answers_needed,
        }
        if out.json_mode:
            out.json(result)
        elif receipt.complete:
            out.line(
                f"{out.style('answered', colour='green')} {args.id}; thread "
                f"{receipt.item.thread_id} is ready to resume"
            )
        else:
            out.line(f"recorded; {receipt.answers_needed} more answer(s) needed for {args.id}")
        return 0

    return run_async(run())


def _serve(args: argparse.Namespace, out: Output) -> int:
    from locus.inbox import Actor
    from locus.inbox.tokens import TOKENS_ENV
    from locus.inbox.web import InsecureNoAuth, TokenAuth, WebAuth, create_app  # the extra

    auth: WebAuth
    if args.insecure_no_auth:
        auth = InsecureNoAuth.as_actor(Actor(args.actor))
        warning = (
            f"WARNING: --insecure-no-auth: NO authentication. Anyone who can reach "
            f"http://{args.host}:{args.port} answers as {args.actor!r}. Local demos only."
        )
        print(out.style(warning, bold=True, colour="red"), file=sys.stderr)
    else:
        path = args.tokens_file or os.environ.get(TOKENS_ENV)
        if not path:
            raise ConfigurationError(
                "the inbox never serves without authentication: pass --tokens-file PATH (or set "
                f"{TOKENS_ENV}; create one with `locus inbox add-token ACTOR --tokens-file "
                "PATH`), or --insecure-no-auth for a local demo"
            )
        auth = TokenAuth.from_file(path)
    app = create_app(_checkpointer(args), auth=auth)
    out.line(f"locus inbox on http://{args.host}:{args.port}  (API docs at /docs)")
    import uvicorn  # after locus.inbox.web, which names the extra when it is missing

    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def _add_token(args: argparse.Namespace, out: Output) -> int:
    from locus.inbox.tokens import TOKENS_ENV, add_token

    path = args.tokens_file or os.environ.get(TOKENS_ENV)
    if not path:
        raise ConfigurationError(f"add-token needs --tokens-file PATH (or {TOKENS_ENV})")
    token = add_token(path, args.actor, roles=_roles(args.roles), display_name=args.display_name)
    if out.json_mode:
        out.json({"actor": args.actor, "token": token, "tokens_file": str(path)})
    else:
        out.line(token)
        print(
            f"token for {args.actor!r} stored (as its sha256) in {path}; it is shown only now",
            file=out.stderr,
        )
    return 0
