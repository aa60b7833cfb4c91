"""One retry policy for every model provider.

A provider hands ``call_with_retries`` a coroutine function that makes one attempt and a
classifier that turns its SDK's exceptions into locus errors. The decision to retry is
made here, on the locus error class alone, so every provider behaves the same:

* ``RateLimitError``, ``ProviderUnavailableError`` and ``ProviderTimeoutError`` are retried
  with exponential backoff and jitter, or after the provider's ``Retry-After`` (capped);
* every other error (bad request, authentication, an exhausted quota, ...) is raised at
  once;
* attempts and total time are both capped; when either runs out the last error is raised.

Providers must switch their SDK's own retries off, or attempts would multiply.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt
from tenacity.stop import stop_before_delay
from tenacity.wait import wait_base

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
from locus.observe.logs import fields, get_logger

__all__ = [
    "QUOTA_ERROR_CODES",
    "RETRYABLE_ERRORS",
    "ErrorClassifier",
    "RetryPolicy",
    "call_with_retries",
    "error_for_status",
    "parse_retry_after",
]

_log = get_logger(__name__)

T = TypeVar("T")

#: The only locus errors worth another attempt: the request may succeed if sent again.
RETRYABLE_ERRORS: tuple[type[ModelProviderError], ...] = (
    RateLimitError,
    ProviderUnavailableError,
    ProviderTimeoutError,
)

#: Turns an SDK exception into a locus error, or returns None for one it does not know.
ErrorClassifier = Callable[[Exception], ModelProviderError | None]

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How often and how patiently a provider call is retried.

    Attributes:
        max_attempts: attempts in all, the first included (1 disables retries).
        initial_backoff: seconds before the second attempt; doubled for each later one.
        max_backoff: the longest backoff between two attempts, jitter included.
        jitter: up to this many random seconds are added to each backoff.
        max_total_seconds: no retry starts, and no backoff begins, that would end
            later than this many seconds after the first attempt began.
        max_retry_after: the longest ``Retry-After`` honoured; a longer one is cut to this.
        sleep: the coroutine used to wait; tests inject one that records instead of sleeping.

    Raises:
        ConfigurationError: on construction, for a negative or inconsistent setting.
    """

    max_attempts: int = 4
    initial_backoff: float = 0.5
    max_backoff: float = 20.0
    jitter: float = 0.5
    max_total_seconds: float = 120.0
    max_retry_after: float = 60.0
    sleep: Sleep = field(default=asyncio.sleep, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigurationError(
                f"RetryPolicy.max_attempts must be at least 1, got {self.max_attempts}"
            )
        for name in ("initial_backoff", "max_backoff", "jitter", "max_retry_after"):
            if getattr(self, name) < 0:
                raise ConfigurationError(
                    f"RetryPolicy.{name} must not be negative, got {getattr(self, name)}"
                )
        if self.max_total_seconds <= 0:
            raise ConfigurationError(
                f"RetryPolicy.max_total_seconds must be positive, got {self.max_total_seconds}"
            )
        if self.max_backoff < self.initial_backoff:
            raise ConfigurationError(
                f"RetryPolicy.max_backoff ({self.max_backoff}) is less than initial_backoff "
                f"({self.initial_backoff})"
            )

    def backoff(self, attempt_number: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt ``attempt_number`` (counted from 1).

        A ``retry_after`` from the provider wins over the computed backoff, capped at
        ``max_retry_after``.
        """
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        exponential = self.initial_backoff * 2.0 ** min(attempt_number - 1, 62)
        return min(self.max_backoff, exponential + random.uniform(0.0, self.jitter))


class _PolicyWait(wait_base):
    """Tenacity wait strategy reading ``retry_after`` off the error that just happened."""

    def __init__(self, policy: RetryPolicy) -> None:
        self._policy = policy

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None else None
        retry_after = error.retry_after if isinstance(error, ModelProviderError) else None
        return self._policy.backoff(retry_state.attempt_number, retry_after)


def _log_retry(provider: str, policy: RetryPolicy) -> Callable[[RetryCallState], None]:
    def before_sleep(retry_state: RetryCallState) -> None:
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None else None
        status = getattr(error, "status_code", None)
        _log.warning(
            "%s: attempt %d of %d failed with %s (status %s); retrying in %.2fs",
            provider,
            retry_state.attempt_number,
            policy.max_attempts,
            type(error).__name__,
            status,
            retry_state.upcoming_sleep,
            extra=fields(
                model=provider,
                attempt=retry_state.attempt_number,
                retry_delay=retry_state.upcoming_sleep,
                cause=type(error).__name__,
                status_code=status,
            ),
        )

    return before_sleep


async def call_with_retries(
    call: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy,
    classify: ErrorClassifier,
    provider: str,
) -> T:
    """Run ``call`` until it succeeds, fails for good, or the policy's budget runs out.

    Args:
        call: makes one attempt; called afresh for each retry.
        policy: attempts, backoff and time budget.
        classify: maps an exception ``call`` raised to a locus error; exceptions it
            returns None for are raised unchanged and never retried.
        provider: the model's name, for log lines.

    Returns:
        What the first successful attempt returned.

    Raises:
        ModelProviderError: the classified error of the last attempt, when it was not
            retryable or the budget ran out (the SDK's exception is chained as ``__cause__``).
    """

    async def attempt() -> T:
        try:
            return await call()
        except ModelProviderError:
            raise
        except Exception as exc:
            mapped = classify(exc)
            if mapped is None:
                raise
            raise mapped from exc

    retrying = AsyncRetrying(
        sleep=policy.sleep,
        stop=stop_after_attempt(policy.max_attempts) | stop_before_delay(policy.max_total_seconds),
        wait=_PolicyWait(policy),
        retry=retry_if_exception_type(RETRYABLE_ERRORS),
        before_sleep=_log_retry(provider, policy),
        reraise=True,
    )
    return await retrying(attempt)


def parse_retry_after(
    headers: Mapping[str, str] | None, *, now: float | None = None
) -> float | None:
    """Seconds a response asks the client to wait, or None when it does not say.

    Reads ``retry-after-ms`` (OpenAI) and ``Retry-After`` as seconds or as an HTTP date.
    Header names are matched case-insensitively.
    """
    if not headers:
        return None
    lowered = {key.lower(): value for key, value in headers.items()}
    millis = lowered.get("retry-after-ms")
    if millis is not None:
        try:
            return max(float(millis) / 1000.0, 0.0)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(when.timestamp() - current, 0.0)


_STATUS_LABELS = {429: "rate limited", 401: "credentials rejected", 403: "access denied"}

#: Provider error codes that come with a 429 but mean a billing limit, not a busy server:
#: waiting does not help, so they are never retried.
QUOTA_ERROR_CODES: frozenset[str] = frozenset({"insufficient_quota"})


def error_for_status(
    status: int,
    detail: str,
    *,
    model_name: str,
    provider: str,
    headers: Mapping[str, str] | None = None,
    code: str | None = None,
) -> ModelProviderError:
    """The locus error for an HTTP error status: the one classification every provider uses.

    429 is a ``RateLimitError`` and 5xx a ``ProviderUnavailableError`` (both retried,
    honouring ``Retry-After``), except that a 429 whose ``code`` is in
    ``QUOTA_ERROR_CODES`` (OpenAI's ``insufficient_quota``) is a ``QuotaExceededError``,
    never retried; 408 is a ``ProviderTimeoutError`` (retried); 401/403 are
    ``ProviderAuthenticationError``; anything else is a ``BadRequestError`` (never retried).

    Args:
        status: the HTTP status code.
        detail: the provider's own error message (already free of secrets).
        model_name: the model, named first in the message.
        provider: ``"openai"``, ``"oci"``, ...
        headers: the response headers, for ``Retry-After``.
        code: the provider's error code, if it gives one (e.g. ``"TooManyRequests"``).
    """
    quota = status == 429 and code in QUOTA_ERROR_CODES
    label = ("quota exceeded" if quota else _STATUS_LABELS.get(status)) or (
        "server error" if status >= 500 else "timed out" if status == 408 else "request rejected"
    )
    where = f"{status}, {code}" if code else f"{status}"
    text = f"{model_name}: {label} ({where}): {detail}"
    kwargs: dict[str, Any] = {
        "provider": provider,
        "status_code": status,
        "provider_message": detail,
    }
    if quota:
        return QuotaExceededError(text, **kwargs)
    if status == 429:
        return RateLimitError(text, retry_after=parse_retry_after(headers), **kwargs)
    if status in (401, 403):
        return ProviderAuthenticationError(text, **kwargs)
    if status == 408:
        return ProviderTimeoutError(text, **kwargs)
    if status >= 500:
        return ProviderUnavailableError(text, retry_after=parse_retry_after(headers), **kwargs)
    return BadRequestError(text, **kwargs)
