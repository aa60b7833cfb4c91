"""Real local receivers: an HTTP server that checks locus webhook signatures, and an SMTP
server (aiosmtpd) that keeps the messages it gets."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from locus.notify import verify_webhook


@dataclass
class WebhookReceiver:
    """What the receiver saw. ``fail_first`` requests are answered 503."""

    secret: str
    url: str = ""
    fail_first: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    refused: int = 0
    attempts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


@contextmanager
def webhook_receiver(secret: str | None, *, fail_first: int = 0) -> Iterator[WebhookReceiver]:
    """A receiver that checks ``Locus-Signature`` (any JSON POST when ``secret`` is None)."""
    state = WebhookReceiver(secret or "", fail_first=fail_first)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with state.lock:
                state.attempts += 1
                signature = self.headers.get("Locus-Signature")
                if secret is not None and not verify_webhook(secret, body, signature):
                    state.refused += 1
                    self.send_response(401)
                elif state.attempts <= state.fail_first:
                    self.send_response(503)
                else:
                    state.received.append(json.loads(body))
                    state.keys.append(self.headers.get("Idempotency-Key", ""))
                    self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def smtp_server() -> Iterator[tuple[int, list[Message]]]:
    from aiosmtpd.controller import Controller

    messages: list[Message] = []

    class Keep:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            messages.append(message_from_bytes(envelope.content))
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, messages
    finally:
        controller.stop()
