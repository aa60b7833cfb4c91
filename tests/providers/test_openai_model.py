"""OpenAIModel driving the real ``openai`` SDK over HTTP; respx answers at the httpx seam."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import traceback
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import respx
from model_requests import ask, collect

from locus.core.messages import Message, ToolCall, Usage
from locus.errors import (
    BadRequestError,
    ConfigurationError,
    ModelProviderError,
    ProviderAuthenticationError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitError,
)
from locus.models import guard
from locus.models.base import ModelRequest, ModelResponse, ModelSettings, TextDelta, ToolSpec
from locus.models.retry import RetryPolicy
from locus_providers._shared import redact
from locus_providers.openai import OpenAIModel

BASE_URL = "https://llm.test/v1"
API_KEY = "sk-test-0123456789abcdefSECRET"

WEATHER_TOOL = ToolSpec(
    name="get_weather",
    description="Current weather for a city.",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
)


# --- helpers ------------------------------------------------------------------------------


def completion(content: str | None = "Hello!", **message: Any) -> dict[str, Any]:
    """A chat.completion body as the API returns it."""
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "gpt-4.1",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, **message},
                "finish_reason": "tool_calls" if message.get("tool_calls") else "stop",
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17},
    }


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None) -> dict[str, Any]:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": "gpt-4.1",
        "choices": choices,
    }


def usage_chunk(prompt: int, completion_tokens: int) -> dict[str, Any]:
    body = chunk()
    body["usage"] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt + completion_tokens,
    }
    return body


def sse(*events: dict[str, Any]) -> httpx.Response:
    """A text/event-stream response carrying ``events`` and the closing ``[DONE]``."""
    lines = [f"data: {json.dumps(event)}\n\n" for event in events] + ["data: [DONE]\n\n"]
    return httpx.Response(
        200, content="".join(lines).encode(), headers={"content-type": "text/event-stream"}
    )


def sent_body(route: respx.Route, index: int = -1) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(route.calls[index].request.content)
    return body


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        yield router


@pytest.fixture
def make_model(
    http_client: httpx.AsyncClient, retry_policy: RetryPolicy
) -> Callable[..., OpenAIModel]:
    def make(**options: Any) -> OpenAIModel:
        options.setdefault("api_key", API_KEY)
        options.setdefault("base_url", BASE_URL)
        options.setdefault("retry", retry_policy)
        return OpenAIModel("gpt-4.1", http_client=http_client, **options)

    return make


@pytest.fixture
def model(make_model: Callable[..., OpenAIModel]) -> OpenAIModel:
    return make_model()


# --- plain requests -----------------------------------------------------------------------


async def test_plain_reply_sends_model_messages_and_settings(
    api: respx.MockRouter, model: OpenAIModel
) -> None:
    route = api.post("/chat/completions").respond(200, json=completion("Hello!"))
    request = ModelRequest(
        messages=(Message.system("Be brief."), Message.user("Hi")),
        settings=ModelSettings(max_tokens=50, temperature=0.2),
    )

    response = await model.request(request)

    assert response.message == Message.assistant("Hello!")
    assert response.usage == Usage(input_tokens=12, output_tokens=5)
    assert response.finish_reason == "stop"
    assert response.model_name == "openai:gpt-4.1"
    assert sent_body(route) == {
        "model": "gpt-4.1",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
        ],
        "max_tokens": 50,
        "temperature": 0.2,
        "stream": False,
    }
    assert route.calls.last.request.headers["authorization"] == f"Bearer {API_KEY}"


async def test_tools_and_tool_history_are_sent_in_chat_completions_shape(
    api: respx.MockRouter, model: OpenAIModel
) -> None:
    route = api.post("/chat/completions").respond(200, json=completion("It is sunny in Paris."))
    call = ToolCall(id="call_1", name="get_weather", arguments={"city": "Paris"})
    request = ModelRequest(
        messages=(
            Message.user("Weather in Paris?"),
            Message.assistant("", (call,)),
            Message.tool("call_1", "get_weather", "sunny"),
        ),
        tools=(WEATHER_TOOL,),
    )

    await model.request(request)

    body = sent_body(route)
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Current weather for a city.",
                "parameters": WEATHER_TOOL.parameters,
            },
        }
    ]
    assert body["messages"][1] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            }
        ],
    }
    assert body["messages"][2] == {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}


async def test_tool_calls_in_a_reply_become_tool_calls(
    api: respx.MockRouter, model: OpenAIModel
) -> None:
    raw_call = {
        "id": "call_9",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
    }
    api.post("/chat/completions").respond(200, json=completion(None, tool_calls=[raw_call]))

    response = await model.request(ask("Weather in Oslo?"))

    assert response.message.tool_calls == (
        ToolCall(id="call_9", name="get_weather", arguments={"city": "Oslo"}),
    )
    assert response.finish_reason == "tool_calls"


async def test_tool_call_arguments_that_are_not_json_name_the_tool(
    api: respx.MockRouter, model: OpenAIModel
) -> None:
    raw_call = {
        "id": "call_9",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": '},
    }
    api.post("/chat/completions").respond(200, json=completion(None, tool_calls=[raw_call]))

    with pytest.raises(ModelProviderError, match="get_weather"):
        await model.request(ask("Weather?"))


async def test_max_completion_tokens_is_sent_when_configured(
    api: respx.MockRouter, make_model: Callable[..., OpenAIModel]
) -> None:
    route = api.post("/chat/completions").respond(200, json=completion())
    model = make_model(max_tokens_param="max_completion_tokens")

    await model.request(ask("Hi", max_tokens=64))

    body = sent_body(route)
    assert body["max_completion_tokens"] == 64
    assert "max_tokens" not in body


async def test_base_url_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, http_client: httpx.AsyncClient, retry_policy: RetryPolicy
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://vllm.local:8000/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "unused")
    with respx.mock(base_url="http://vllm.local:8000/v1") as local:
        route = local.post("/chat/completions").respond(200, json=completion("from vLLM"))
        model = OpenAIModel("meta-llama/Llama-3.1-8B", http_client=http_client, retry=retry_policy)

        response = await model.request(ask("Hi"))

    assert response.message.content == "from vLLM"
    assert sent_body(route)["model"] == "meta-llama/Llama-3.1-8B"
    assert route.calls.last.request.headers["authorization"] == "Bearer unused"


# --- streaming ----------------------------------------------------------------------------


async def test_streamed_reply_yields_deltas_then_one_complete_response(
    api: respx.MockRouter, model: OpenAIModel
) -> None:
    route = api.post("/chat/completions").mock(
        return_value=sse(
            chunk({"role": "assistant", "content": ""}),
            chunk({"content": "Hel"}),
            chunk({"content": "lo, "}),
            chunk({"content": "world"}),
            chunk({}, finish="stop"),
            usage_chunk(9, 3),
        )
    )

    items = await collect(model, ask("Greet me", max_tokens=20, temperature=0.0))

    assert items[:-1] == [TextDelta(text="Hel"), TextDelta(text="lo, "), TextDelta(text="world")]
    final = items[-1]
    assert isinstance(final, ModelResponse)
    assert final.message == Message.assistant("Hello, world")
    assert final.usage == Usage(input_tokens=9, output_tokens=3)
    assert final.finish_reason == "stop"
    body = sent_body(route)
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["max_tokens"] == 20
    assert body["temperature"] == 0.0


async def test_streamed_tool_call_fragments_are_assembled_by_index(
    api: respx.MockRouter, model: OpenAIModel
) -> None:
    def fragment(index: int, **parts: Any) -> dict[str, Any]:
        call: dict[str, Any] = {"index": index}
        if "id" in parts:
            call.update(id=parts["id"], type="function")
        call["function"] = {k: v for k, v in parts.items() if k in ("name", "arguments")}
        return chunk({"tool_calls": [call]})

    route = api.post("/chat/completions").mock(
        return_value=sse(
            chunk({"role": "assistant", "content": None}),
            fragment(0, id="call_a", name="get_weather", arguments=""),
            fragment(0, arguments='{"ci'),
            fragment(1, id="call_b", name="get_weather", arguments='{"city"'),
            fragment(0, arguments='ty": "Paris"}'),
            fragment(1, arguments=': "Lima"}'),
            chunk({}, finish="tool_calls"),
            usage_chunk(30, 21),
        )
    )

    items = await collect(model, ModelRequest(messages=(Message.user("?"),), tools=(WEATHER_TOOL,)))

    assert len(items) == 1
    final = items[0]
    assert isinstance(final, ModelResponse)
    assert final.message.tool_calls == (
        ToolCall(id="call_a", name="get_weather", arguments={"city": "Paris"}),
        ToolCall(id="call_b", name="get_weather", arguments={"city": "Lima"}),
    )
    assert final.finish_reason == "tool_calls"
    assert final.usage == Usage(input_tokens=30, output_tokens=21)
    assert sent_body(route)["tools"][0]["function"]["name"] == "get_weather"


async def test_error_event_inside_a_stream_becomes_a_provider_error(
    api: respx.MockRouter, model: OpenAIModel
) -> None:
    api.post("/chat/completions").mock(
        return_value=sse(
            chunk({"content": "Par"}),
            {"error": {"message": "the model crashed", "type": "server_error"}},
        )
    )

    seen: list[Any] = []

    async def drain() -> None:
        async for item in model.stream(ask("Hi")):
            seen.append(item)

    with pytest.raises(ModelProviderError, match="the model crashed"):
        await drain()
    assert seen == [TextDelta(text="Par")]


# --- retries and errors -------------------------------------------------------------------


async def test_429_with_retry_after_is_retried_after_that_wait(
    api: respx.MockRouter, model: OpenAIModel, sleeps: list[float]
) -> None:
    route = api.post("/chat/completions").mock(
        side_effect=[
            httpx.Response(
                429,
                json={"error": {"message": "Rate limit reached", "type": "requests"}},
                headers={"retry-after": "2"},
            ),
            httpx.Response(200, json=completion("after the wait")),
        ]
    )

    response = await model.request(ask("Hi"))

    assert response.message.content == "after the wait"
    assert route.call_count == 2
    assert sleeps == [2.0]
    assert sent_body(route, 0) == sent_body(route, 1)


async def test_500_is_retried_with_backoff(
    api: respx.MockRouter, model: OpenAIModel, sleeps: list[float]
) -> None:
    route = api.post("/chat/completions").mock(
        side_effect=[
            httpx.Response(500, json={"error": {"message": "internal error"}}),
            httpx.Response(200, json=completion("recovered")),
        ]
    )

    response = await model.request(ask("Hi"))

    assert response.message.content == "recovered"
    assert route.call_count == 2
    assert sleeps == [0.25]


async def test_streaming_request_is_retried_before_the_stream_opens(
    api: respx.MockRouter, model: OpenAIModel, sleeps: list[float]
) -> None:
    route = api.post("/chat/completions").mock(
        side_effect=[
            httpx.Response(503, json={"error": {"message": "overloaded"}}),
            sse(chunk({"content": "ok"}), chunk({}, finish="stop")),
        ]
    )

    items = await collect(model, ask("Hi"))

    assert items[0] == TextDelta(text="ok")
    assert route.call_count == 2
    assert sleeps == [0.25]


async def test_401_is_not_retried_and_never_reveals_the_key(
    api: respx.MockRouter,
    model: OpenAIModel,
    sleeps: list[float],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A server that echoes the key it was given, as some OpenAI-compatible ones do.
    route = api.post("/chat/completions").respond(
        401,
        json={
            "error": {
                "message": f"Incorrect API key provided: {API_KEY}.",
                "type": "invalid_request_error",
                "code": "invalid_api_key",
            }
        },
    )
    caplog.set_level(logging.DEBUG)

    with pytest.raises(ProviderAuthenticationError) as raised:
        await model.request(ask("Hi"))

    error = raised.value
    assert route.call_count == 1
    assert sleeps == []
    assert error.status_code == 401
    assert error.provider == "openai"
    assert "Incorrect API key provided" in error.provider_message
    traceback_text = "".join(traceback.format_exception(error))
    for text in (str(error), error.provider_message, caplog.text, repr(model), traceback_text):
        assert API_KEY not in text
        assert "0123456789abcdef" not in text


@pytest.mark.parametrize("status", [400, 403, 404])
async def test_client_errors_are_never_retried(
    api: respx.MockRouter, model: OpenAIModel, sleeps: list[float], status: int
) -> None:
    route = api.post("/chat/completions").respond(
        status, json={"error": {"message": f"nope {status}"}}
    )

    with pytest.raises(ModelProviderError) as raised:
        await model.request(ask("Hi"))

    expected = ProviderAuthenticationError if status == 403 else BadRequestError
    assert type(raised.value) is expected
    assert raised.value.status_code == status
    assert raised.value.provider_message == f"nope {status}"
    assert route.call_count == 1
    assert sleeps == []


async def test_rate_limit_that_never_lifts_raises_rate_limit_error(
    api: respx.MockRouter, model: OpenAIModel, sleeps: list[float]
) -> None:
    route = api.post("/chat/completions").respond(
        429, json={"error": {"message": "slow down"}}, headers={"retry-after": "1"}
    )

    with pytest.raises(RateLimitError) as raised:
        await model.request(ask("Hi"))

    assert raised.value.status_code == 429
    assert raised.value.retry_after == 1.0
    assert route.call_count == 3
    assert sleeps == [1.0, 1.0]


async def test_timeout_is_retried_then_raised_as_provider_timeout(
    api: respx.MockRouter, model: OpenAIModel, sleeps: list[float]
) -> None:
    route = api.post("/chat/completions").mock(side_effect=httpx.ReadTimeout("read timed out"))

    with pytest.raises(ProviderTimeoutError) as raised:
        await model.request(ask("Hi"))

    assert isinstance(raised.value, TimeoutError)
    assert route.call_count == 3
    assert sleeps == [0.25, 0.5]


async def test_timeout_then_success(
    api: respx.MockRouter, model: OpenAIModel, sleeps: list[float]
) -> None:
    route = api.post("/chat/completions").mock(
        side_effect=[
            httpx.ConnectTimeout("connect timed out"),
            httpx.Response(200, json=completion()),
        ]
    )

    response = await model.request(ask("Hi"))

    assert response.message.content == "Hello!"
    assert route.call_count == 2


async def test_per_request_timeout_reaches_the_transport(
    api: respx.MockRouter, make_model: Callable[..., OpenAIModel]
) -> None:
    route = api.post("/chat/completions").respond(200, json=completion())
    model = make_model(timeout=30.0)

    await model.request(ask("Hi"))
    await model.request(ask("Hi", timeout=7.5))

    default_timeout = route.calls[0].request.extensions["timeout"]
    request_timeout = route.calls[1].request.extensions["timeout"]
    assert default_timeout["read"] == 30.0
    assert request_timeout["read"] == 7.5


async def test_connection_errors_are_retried_then_raised_as_unavailable(
    api: respx.MockRouter, model: OpenAIModel
) -> None:
    route = api.post("/chat/completions").mock(side_effect=httpx.ConnectError("refused"))

    with pytest.raises(ProviderUnavailableError):
        await model.request(ask("Hi"))

    assert route.call_count == 3


async def test_guard_off_refuses_before_sending_anything(
    api: respx.MockRouter, model: OpenAIModel
) -> None:
    route = api.post("/chat/completions").respond(200, json=completion())
    guard.set_allow_model_requests(False)

    with pytest.raises(ConfigurationError, match=r"openai:gpt-4\.1"):
        await model.request(ask("Hi"))
    with pytest.raises(ConfigurationError):
        await collect(model, ask("Hi"))

    assert route.call_count == 0


# --- configuration ------------------------------------------------------------------------


def test_missing_api_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        OpenAIModel("gpt-4.1")


def test_bad_base_url_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "localhost:11434")
    with pytest.raises(ConfigurationError, match="OPENAI_BASE_URL"):
        OpenAIModel("llama3", api_key="unused")


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"timeout": 0}, "timeout"),
        ({"http_client": object()}, "http_client"),
    ],
)
def test_bad_options_raise_configuration_error(options: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigurationError, match=named):
        OpenAIModel("gpt-4.1", api_key=API_KEY, **options)


def test_name_and_repr_never_show_the_key() -> None:
    model = OpenAIModel("gpt-4.1", api_key=API_KEY)
    assert model.name == "openai:gpt-4.1"
    assert API_KEY not in repr(model)
    assert API_KEY not in repr(vars(model))
    assert API_KEY not in repr(vars(model._clients))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"bad key {API_KEY}.", "bad key [redacted]."),
        (
            "Incorrect API key provided: sk-proj-********wxyz.",
            "Incorrect API key provided: [redacted].",
        ),
        ("the task-abcdefgh failed", "the task-abcdefgh failed"),
        ("no secrets here", "no secrets here"),
    ],
)
def test_redaction_removes_keys_and_only_keys(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.fixture
def keep_alive_server() -> Iterator[str]:
    """A local OpenAI-compatible server that keeps connections open between requests."""
    body = json.dumps(completion("pong")).encode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["content-length"]))
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()
    thread.join()


def test_one_model_serves_several_event_loops(keep_alive_server: str) -> None:
    # Agent.run_sync starts a new loop per run; the SDK's pooled connections belong to
    # the loop that opened them, so each loop must get its own client.
    model = OpenAIModel("local-model", api_key="unused", base_url=keep_alive_server)

    replies = [asyncio.run(model.request(ask("ping"))).message.content for _ in range(3)]

    assert replies == ["pong", "pong", "pong"]


async def test_whole_tool_calls_without_an_index_are_kept_apart(
    api: respx.MockRouter, model: OpenAIModel
) -> None:
    # Some OpenAI-compatible servers (older Ollama) send each call whole, with no index.
    def whole_call(call_id: str, city: str) -> dict[str, Any]:
        return {
            "id": call_id,
            "type": "function",
            "function": {"name": "get_weather", "arguments": json.dumps({"city": city})},
        }

    api.post("/chat/completions").mock(
        return_value=sse(
            chunk({"tool_calls": [whole_call("c1", "Quito"), whole_call("c2", "Cusco")]}),
            chunk({}, finish="tool_calls"),
        )
    )

    (final,) = await collect(
        model, ModelRequest(messages=(Message.user("?"),), tools=(WEATHER_TOOL,))
    )

    assert [(c.id, c.arguments["city"]) for c in final.message.tool_calls] == [
        ("c1", "Quito"),
        ("c2", "Cusco"),
    ]


async def test_a_reply_that_is_not_a_completion_is_a_provider_error(
    api: respx.MockRouter, model: OpenAIModel
) -> None:
    api.post("/chat/completions").respond(
        200, content=b"<html>login page</html>", headers={"content-type": "text/html"}
    )

    with pytest.raises(ModelProviderError, match="not a chat completion"):
        await model.request(ask("Hi"))
