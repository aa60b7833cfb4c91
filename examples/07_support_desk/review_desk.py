"""The reviewer's side of a support desk: a notification, the inbox web app, the answer.

A support graph pauses twice per ticket: a reviewer edits the drafted reply (a form made
from its response schema) and finance approves the refund tool call. Each pause is
announced to a webhook (here a local receiver that checks the signature), and answered
through the inbox web app's JSON API with a bearer token; then the thread resumes.

Needs the web extra: pip install -e '.[web]'.

    python examples/07_support_desk/review_desk.py           # runs unattended, offline
    python examples/07_support_desk/review_desk.py --serve   # then open http://127.0.0.1:8765

With ``--serve`` the paused tickets stay in ``support_desk.db``; log in with the printed
token, answer in the browser, and run the script again without ``--serve`` to finish.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

try:
    import httpx
except ModuleNotFoundError:  # the base install: say which extra, not a traceback
    raise SystemExit("this example needs the web extra: pip install -e '.[web]'") from None

from locus.checkpoint import connect
from locus.core import interrupt
from locus.inbox import Answerers
from locus.inbox.tokens import add_token
from locus.inbox.web import TokenAuth, create_app
from locus.multiagent import END, START, StateGraph
from locus.notify import Notifications, WebhookNotifier, verify_webhook

HOOK_SECRET = "demo-webhook-secret"


class Reply(BaseModel):
    """What the reviewer sends back: the final text and whether to refund."""

    text: str = Field(min_length=10, description="The reply the customer will read")
    refund: bool = False


def support_desk(cp: Any) -> StateGraph:
    graph = StateGraph("support_desk", checkpointer=cp, types=[Reply])

    async def review(state: dict[str, Any]) -> dict[str, Any]:
        reply = interrupt(
            {
                "question": f"Review the reply to {state['customer']}",
                "draft": f"Hi {state['customer']}, sorry about order {state['order']}. "
                "We are refunding it today.",
                "ticket": state["ticket"],
            },
            response_schema=Reply,
        )
        return {"reply": reply.text, "refund": reply.refund}

    async def refund(state: dict[str, Any]) -> dict[str, Any]:
        if not state["refund"]:
            return {"refunded": False}
        decision = interrupt(
            {
                "type": "tool_approval",
                "tool": "issue_refund",
                "arguments": {"order": state["order"], "amount": 49.0},
                "call_id": "call-1",
                "agent_id": "support",
            },
            answerers=Answerers(roles={"finance"}),
        )
        return {"refunded": decision == {"approved": True}}

    graph.add_node("review", review).add_node("refund", refund)
    graph.add_edge(START, "review").add_edge("review", "refund").add_edge("refund", END)
    return graph


def start_receiver() -> tuple[str, list[dict[str, Any]]]:
    """A local webhook receiver that keeps the notices whose signature checks out."""
    received: list[dict[str, Any]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            ok = verify_webhook(HOOK_SECRET, body, self.headers.get("Locus-Signature"))
            if ok:
                received.append(json.loads(body))
            self.send_response(200 if ok else 401)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/hook", received


async def main(serve: bool) -> None:
    folder = Path.cwd() if serve else Path(tempfile.mkdtemp())
    url = f"sqlite:///{folder / 'support_desk.db'}"
    tokens = folder / "support_desk_tokens.json"
    ana = add_token(tokens, "ana", roles=frozenset({"support", "finance"}), display_name="Ana")
    hook_url, received = start_receiver()

    async with connect(url) as cp:
        desk = support_desk(cp)
        paused = await desk.execute(
            {"ticket": "T-7", "customer": "Bo", "order": "A-1042"}, thread_id="ticket-T-7"
        )
        print("paused at:", paused.interrupt.node_id if paused.interrupt else None)

        notes = Notifications(cp, [WebhookNotifier("desk", hook_url, secret=HOOK_SECRET)])
        await notes.run_once()
        print("webhook got:", [f"{n['kind']}: {n['summary']}" for n in received])

        app = create_app(cp, auth=TokenAuth.from_file(tokens))
        if serve:
            import uvicorn

            print(f"token for ana: {ana}\nopen http://127.0.0.1:8765 and log in")
            worker = asyncio.create_task(notes.run(poll_seconds=1))
            config = uvicorn.Config(app, host="127.0.0.1", port=8765, log_level="warning")
            await uvicorn.Server(config).serve()
            worker.cancel()
            return

        auth = {"Authorization": f"Bearer {ana}"}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://desk") as web:
            for _ in range(2):  # the reply, then the refund approval it leads to
                [item] = (await web.get("/api/interrupts", headers=auth)).json()["items"]
                value: Any = (
                    {"approved": True}
                    if item["payload"].get("type") == "tool_approval"
                    else {"text": item["payload"]["draft"], "refund": True}
                )
                answered = await web.post(
                    f"/api/interrupts/{item['id']}/answer",
                    json={"value": value, "digest": item["digest"]},
                    headers=auth,
                )
                print(f"answered {item['node']}:", answered.json()["complete"])
                result = await desk.execute(None, thread_id="ticket-T-7")
                await notes.run_once()
            audit = (await web.get("/api/threads/ticket-T-7/audit", headers=auth)).json()

        print("webhook got:", [f"{n['kind']}: {n['summary']}" for n in received])
        print("refunded:", result.final_state["refunded"])
        print(
            "audit:", [f"{e['kind']}:{(e['actor'] or {}).get('id', '')}" for e in audit["entries"]]
        )
        print("audit chain verified:", audit["verified"])


if __name__ == "__main__":
    asyncio.run(main(serve="--serve" in sys.argv[1:]))
