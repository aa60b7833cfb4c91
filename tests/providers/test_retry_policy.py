"""The shared retry layer: what is retried, how long it waits, when it gives up."""

from __future__ import annotations

import email.utils
from collections.abc import Awaitable, Callable

import pytest

from locus.errors import (
    BadRequestError,
    ConfigurationError,
    ModelProviderError,
    ProviderAuthenticationError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    QuotaExceededError,
    RateLimitError,
)
from locus.models.retry import (
    RetryPolicy,
    call_with_retries,
    error_for_status,
    parse_retry_after,
)

Sleep = Callable[[float], Awaitable[None]]


class FlakyCall:
    """Raises the given errors in turn, then returns "ok"; counts its attempts."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.attempts = 0

    async def __call__(self) -> str:
        self.attempts += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def _no_classifier(exc: Exception) -> ModelProviderError | None:
    return None


async def _run(call: FlakyCall, policy: RetryPolicy) -> str:
    return await call_with_retries(call, policy=policy, classify=_no_classifier, provider="t")


@pytest.mark.parametrize(
    "error",
    [
        RateLimitError("429", status_code=429),
        ProviderUnavailableError("503", status_code=503),
        ProviderTimeoutError("timed out"),
    ],
)
async def test_transient_errors_are_retried_until_success(
    error: ModelProviderError, retry_policy: RetryPolicy, sleeps: list[float]
) -> None:
    call = FlakyCall(error, error)
    assert await _run(call, retry_policy) == "ok"
    assert call.attempts == 3
    assert sleeps == [0.25, 0.5]


@pytest.mark.parametrize(
    "error",
    [
        BadRequestError("400", status_code=400),
        BadRequestError("404", status_code=404),
        ProviderAuthenticationError("401", status_code=401),
        ProviderAuthenticationError("403", status_code=403),
        ModelProviderError("unclassified"),
    ],
)
async def test_other_errors_are_raised_without_a_retry(
    error: ModelProviderError, retry_policy: RetryPolicy, sleeps: list[float]
) -> None:
    call = FlakyCall(error)
    with pytest.raises(type(error)) as raised:
        await _run(call, retry_policy)
    assert raised.value is error
    assert call.attempts == 1
    assert sleeps == []


async def test_retry_after_is_honoured_instead_of_the_backoff(
    retry_policy: RetryPolicy, sleeps: list[float]
) -> None:
    call = FlakyCall(RateLimitError("429", retry_after=3.0))
    assert await _run(call, retry_policy) == "ok"
    assert sleeps == [3.0]


async def test_retry_after_longer_than_the_cap_is_cut_to_the_cap(
    retry_policy: RetryPolicy, sleeps: list[float]
) -> None:
    call = FlakyCall(RateLimitError("429", retry_after=3600.0))
    assert await _run(call, retry_policy) == "ok"
    assert sleeps == [retry_policy.max_retry_after]


async def test_gives_up_after_max_attempts_with_the_last_error(
    retry_policy: RetryPolicy, sleeps: list[float]
) -> None:
    errors = [ProviderUnavailableError(f"503 #{i}", status_code=503) for i in range(5)]
    call = FlakyCall(*errors)
    with pytest.raises(ProviderUnavailableError, match="503 #2"):
        await _run(call, retry_policy)
    assert call.attempts == retry_policy.max_attempts == 3
    assert len(sleeps) == 2


async def test_backoff_doubles_and_stops_at_max_backoff(
    sleeps: list[float], record_sleep: Sleep
) -> None:
    policy = RetryPolicy(
        max_attempts=6, initial_backoff=1.0, max_backoff=5.0, jitter=0.0, sleep=record_sleep
    )
    call = FlakyCall(*[ProviderTimeoutError("t") for _ in range(5)])
    assert await _run(call, policy) == "ok"
    assert sleeps == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_jitter_adds_at_most_the_configured_seconds() -> None:
    policy = RetryPolicy(max_attempts=2, initial_backoff=1.0, max_backoff=10.0, jitter=0.5)
    waits = {policy.backoff(1) for _ in range(200)}
    assert all(1.0 <= wait <= 1.5 for wait in waits)
    assert len(waits) > 1


async def test_no_backoff_starts_that_would_overrun_the_total_budget(
    sleeps: list[float], record_sleep: Sleep
) -> None:
    policy = RetryPolicy(
        max_attempts=5,
        initial_backoff=1.0,
        max_backoff=1.0,
        jitter=0.0,
        max_total_seconds=30.0,
        max_retry_after=120.0,
        sleep=record_sleep,
    )
    call = FlakyCall(RateLimitError("429", retry_after=60.0))
    with pytest.raises(RateLimitError):
        await _run(call, policy)
    assert call.attempts == 1
    assert sleeps == []


async def test_classifier_translates_sdk_errors_before_the_retry_decision(
    retry_policy: RetryPolicy, sleeps: list[float]
) -> None:
    class SdkThrottled(Exception):
        pass

    def classify(exc: Exception) -> ModelProviderError | None:
        if isinstance(exc, SdkThrottled):
            return RateLimitError("throttled", status_code=429, retry_after=1.5)
        return None

    call = FlakyCall(SdkThrottled("slow down"))
    result = await call_with_retries(call, policy=retry_policy, classify=classify, provider="t")
    assert result == "ok"
    assert sleeps == [1.5]


async def test_unclassified_exceptions_propagate_unchanged_and_unretried(
    retry_policy: RetryPolicy,
) -> None:
    bug = KeyError("a bug in the adapter")
    call = FlakyCall(bug)
    with pytest.raises(KeyError) as raised:
        await _run(call, retry_policy)
    assert raised.value is bug
    assert call.attempts == 1


async def test_classified_error_chains_the_sdk_exception(retry_policy: RetryPolicy) -> None:
    original = ValueError("sdk said no")
    call = FlakyCall(original)

    def classify(exc: Exception) -> ModelProviderError | None:
        return BadRequestError("mapped", status_code=400)

    with pytest.raises(BadRequestError) as raised:
        await call_with_retries(call, policy=retry_policy, classify=classify, provider="t")
    assert raised.value.__cause__ is original


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"max_attempts": 0}, "max_attempts"),
        ({"initial_backoff": -1.0}, "initial_backoff"),
        ({"jitter": -0.1}, "jitter"),
        ({"max_total_seconds": 0.0}, "max_total_seconds"),
        ({"initial_backoff": 5.0, "max_backoff": 1.0}, "max_backoff"),
    ],
)
def test_bad_policy_settings_raise_configuration_error_naming_the_setting(
    settings: dict[str, float], named: str
) -> None:
    with pytest.raises(ConfigurationError, match=named):
        RetryPolicy(**settings)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"retry-after": "0.5"}, 0.5),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"Retry-After": "-3"}, 0.0),
        ({"Retry-After": "soon"}, None),
        ({}, None),
        (None, None),
    ],
)
def test_parse_retry_after(headers: dict[str, str] | None, expected: float | None) -> None:
    assert parse_retry_after(headers) == expected


def test_parse_retry_after_reads_an_http_date() -> None:
    now = 1_700_000_000.0
    header = email.utils.formatdate(now + 42, usegmt=True)
    assert parse_retry_after({"Retry-After": header}, now=now) == pytest.approx(42.0)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (429, RateLimitError),
        (401, ProviderAuthenticationError),
        (403, ProviderAuthenticationError),
        (408, ProviderTimeoutError),
        (500, ProviderUnavailableError),
        (503, ProviderUnavailableError),
        (400, BadRequestError),
        (404, BadRequestError),
        (422, BadRequestError),
    ],
)
def test_every_provider_maps_a_status_to_the_same_error_class(
    status: int, expected: type[ModelProviderError]
) -> None:
    error = error_for_status(
        status, "nope", model_name="x:model", provider="x", headers={"Retry-After": "2"}
    )
    assert type(error) is expected
    assert error.status_code == status and error.provider == "x"
    assert str(error).startswith("x:model: ") and "nope" in str(error)
    if expected in (RateLimitError, ProviderUnavailableError):
        assert error.retry_after == 2.0


async def test_a_429_with_insufficient_quota_is_a_quota_error_raised_after_one_attempt(
    retry_policy: RetryPolicy, sleeps: list[float]
) -> None:
    quota = error_for_status(
        429,
        "You exceeded your current quota",
        model_name="x:model",
        provider="x",
        headers={"Retry-After": "2"},
        code="insufficient_quota",
    )
    call = FlakyCall(quota)

    with pytest.raises(QuotaExceededError) as raised:
        await _run(call, retry_policy)

    assert raised.value is quota
    assert "quota exceeded (429, insufficient_quota): You exceeded" in str(quota)
    assert (call.attempts, sleeps) == (1, [])
