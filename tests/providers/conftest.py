"""Fixtures shared by the provider tests: the request guard, a sleep that only records,
an httpx client and a respx router for the OpenAI SDK, and a local HTTP stand-in for OCI
Generative AI with a throwaway key and config file."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
import threading
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from openai_stream import BASE_URL

from locus.models import guard
from locus.models.retry import RetryPolicy


@pytest.fixture(autouse=True)
def allow_local_model_requests() -> Iterator[None]:
    """Open the request guard: these tests reach only respx routes or 127.0.0.1."""
    previous = guard.ALLOW_MODEL_REQUESTS
    guard.set_allow_model_requests(True)
    yield
    guard.set_allow_model_requests(previous)


Sleep = Callable[[float], Awaitable[None]]


@pytest.fixture
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client for the OpenAI SDK, closed after the test."""
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    """respx answering ``BASE_URL``; every route a test adds must be called."""
    with respx.mock(base_url=BASE_URL) as router:
        yield router


@pytest.fixture
def sleeps() -> list[float]:
    """Every wait the retry layer asked for, in order (none is actually slept)."""
    return []


@pytest.fixture
def record_sleep(sleeps: list[float]) -> Sleep:
    """A stand-in for ``asyncio.sleep`` that appends to ``sleeps`` and returns at once."""

    async def record(seconds: float) -> None:
        sleeps.append(seconds)

    return record


@pytest.fixture
def retry_policy(record_sleep: Sleep) -> RetryPolicy:
    """Three attempts, deterministic backoff (0.25s, then 0.5s), no real sleeping."""
    return RetryPolicy(
        max_attempts=3,
        initial_backoff=0.25,
        max_backoff=4.0,
        jitter=0.0,
        max_retry_after=10.0,
        sleep=record_sleep,
    )


# --- a local stand-in for the OCI Generative AI inference service -------------------------


@dataclass
class RecordedRequest:
    """One request as the fake service received it (header names lower-cased)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.body)
        return value


@dataclass
class Reply:
    """What the fake service answers to one request."""

    status: int = 200
    body: dict[str, Any] | None = None
    events: list[dict[str, Any]] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    wait_for: threading.Event | None = None


class FakeGenAIService:
    """An HTTP server on 127.0.0.1 answering scripted replies in order, recording requests.

    Replies are JSON bodies (the real service's ``ChatResult`` shapes) or
    ``text/event-stream`` events; a reply can be held back until an event is set.
    """

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        #: Set as soon as the first request has been read.
        self.request_seen = threading.Event()
        self._replies: deque[Reply] = deque()
        self._held: list[threading.Event] = []
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                service.requests.append(
                    RecordedRequest(
                        method=self.command,
                        path=self.path,
                        headers={k.lower(): v for k, v in self.headers.items()},
                        body=self.rfile.read(length),
                    )
                )
                service.request_seen.set()
                reply = (
                    service._replies.popleft()
                    if service._replies
                    else Reply(
                        status=500, body={"code": "TestError", "message": "no reply scripted"}
                    )
                )
                if reply.wait_for is not None:
                    reply.wait_for.wait(timeout=30)
                # The client may have given up already (a timeout test): nothing to answer.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._send(reply)

            def _send(self, reply: Reply) -> None:
                self.send_response(reply.status)
                self.send_header("opc-request-id", f"req-{len(service.requests)}")
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if reply.events is not None:
                    self.send_header("content-type", "text/event-stream")
                    self.end_headers()
                    for event in reply.events:
                        self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                        self.wfile.flush()
                    return
                payload = json.dumps(reply.body or {}).encode()
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def reply(self, reply: Reply) -> None:
        if reply.wait_for is not None:
            self._held.append(reply.wait_for)
        self._replies.append(reply)

    def reply_json(self, body: dict[str, Any], status: int = 200, **headers: str) -> None:
        self.reply(Reply(status=status, body=body, headers=headers))

    def reply_error(self, status: int, code: str, message: str, **headers: str) -> None:
        self.reply(Reply(status=status, body={"code": code, "message": message}, headers=headers))

    def reply_events(self, *events: dict[str, Any]) -> None:
        self.reply(Reply(events=list(events)))

    def reply_when(self, released: threading.Event, body: dict[str, Any]) -> None:
        """Answer ``body`` only once ``released`` is set (or the service closes)."""
        self.reply(Reply(body=body, wait_for=released))

    def close(self) -> None:
        for held in self._held:
            held.set()
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def genai_service() -> Iterator[FakeGenAIService]:
    service = FakeGenAIService()
    yield service
    service.close()


@dataclass(frozen=True)
class OCIFiles:
    """A throwaway OCI config: API-key profile DEFAULT, session-token profile SESSION."""

    config_file: Path
    key_file: Path
    token: str
    fingerprint: str
    public_key: rsa.RSAPublicKey
    tenancy: str = "ocid1.tenancy.oc1..aaaaaaaatesttenancy"
    user: str = "ocid1.user.oc1..aaaaaaaatestuser"

    @property
    def key_id(self) -> str:
        return f"{self.tenancy}/{self.user}/{self.fingerprint}"


@pytest.fixture(scope="session")
def rsa_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def key_fingerprint(public_key: rsa.RSAPublicKey) -> str:
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    digest = hashlib.md5(der).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


@pytest.fixture
def oci_files(tmp_path: Path, rsa_private_key: rsa.RSAPrivateKey) -> OCIFiles:
    key_file = tmp_path / "oci_api_key.pem"
    key_file.write_bytes(
        rsa_private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    token = "eyJhbGciOiJSUzI1NiJ9.session-token-body.signature-part"
    token_file = tmp_path / "token"
    token_file.write_text(token + "\n")
    public_key = rsa_private_key.public_key()
    files = OCIFiles(
        config_file=tmp_path / "config",
        key_file=key_file,
        token=token,
        fingerprint=key_fingerprint(public_key),
        public_key=public_key,
    )
    files.config_file.write_text(
        f"[DEFAULT]\n"
        f"user={files.user}\n"
        f"fingerprint={files.fingerprint}\n"
        f"tenancy={files.tenancy}\n"
        f"region=us-chicago-1\n"
        f"key_file={key_file}\n"
        f"\n"
        f"[SESSION]\n"
        f"fingerprint={files.fingerprint}\n"
        f"tenancy={files.tenancy}\n"
        f"region=us-chicago-1\n"
        f"key_file={key_file}\n"
        f"security_token_file={token_file}\n"
    )
    return files


def verify_oci_signature(request: RecordedRequest, public_key: rsa.RSAPublicKey) -> dict[str, str]:
    """Check an OCI request signature (draft-cavage HTTP signatures, rsa-sha256) against
    ``public_key``; return the Authorization header's parameters.

    Raises:
        AssertionError: when the header is missing or malformed, a signed header is absent,
            the body hash is wrong or the signature does not verify.
    """
    authorization = request.headers.get("authorization", "")
    assert authorization.startswith("Signature "), authorization
    params = dict(re.findall(r'(\w+)="([^"]*)"', authorization))
    assert params["algorithm"] == "rsa-sha256"
    signed = params["headers"].split()
    assert {"date", "(request-target)", "host"} <= set(signed)
    if request.method == "POST":
        assert {"content-length", "content-type", "x-content-sha256"} <= set(signed)
        body_hash = base64.b64encode(hashlib.sha256(request.body).digest()).decode()
        assert request.headers["x-content-sha256"] == body_hash
    lines = [
        f"(request-target): {request.method.lower()} {request.path}"
        if name == "(request-target)"
        else f"{name}: {request.headers[name]}"
        for name in signed
    ]
    public_key.verify(
        base64.b64decode(params["signature"]),
        "\n".join(lines).encode(),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )
    return params


@pytest.fixture
def verify_signature() -> Callable[[RecordedRequest, rsa.RSAPublicKey], dict[str, str]]:
    """``verify_oci_signature``, handed to tests as a fixture."""
    return verify_oci_signature


OCI_ENV_VARS = (
    "OCI_CONFIG_FILE",
    "OCI_CONFIG_PROFILE",
    "OCI_COMPARTMENT_ID",
    "OCI_GENAI_ENDPOINT",
    "OCI_AUTH",
    "OCI_REGION",
)


@pytest.fixture
def clean_oci_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's own OCI settings must not leak into a test (modules opt in)."""
    for name in OCI_ENV_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def oci_model(
    genai_service: FakeGenAIService, oci_files: OCIFiles, retry_policy: RetryPolicy
) -> Callable[..., Any]:
    """Build an ``OCIModel`` signed with the test key and pointed at the local service."""
    from locus_providers.oci import OCIModel

    def make(model_id: str, *, compartment_id: str, **options: Any) -> OCIModel:
        options.setdefault("config_file", str(oci_files.config_file))
        options.setdefault("service_endpoint", genai_service.endpoint)
        options.setdefault("retry", retry_policy)
        options.setdefault("timeout", 10.0)
        return OCIModel(model_id, compartment_id=compartment_id, **options)

    return make
