"""A webhook notifier: each notice as a signed JSON POST."""

from __future__ import annotations

import json
from collections.abc import Iterable

import httpx

from locus.errors import ConfigurationError, NotificationError
from locus.notify.base import Notice, Notifier
from locus.notify.signing import SIGNATURE_HEADER, sign_webhook

__all__ = ["WebhookNotifier"]


class WebhookNotifier(Notifier):
    """POST each notice as JSON to ``url``, signed with ``secret``.

    Headers: ``Locus-Signature`` (see ``locus.notify.signing``; check it with
    ``verify_webhook``), ``Idempotency-Key`` (the same on every retry: a receiver that has
    seen it should answer 2xx and do nothing) and ``Locus-Event`` (the notice kind). Any
    status other than 2xx is a failed attempt, retried with backoff.

    Args:
        name: see ``Notifier``.
        url: where to POST.
        secret: the shared HMAC secret.
        client: an ``httpx.AsyncClient`` to send with (a new one per send when None).
        timeout: seconds per request.
        graphs, kinds, remind_before: see ``Notifier``.

    Raises:
        ConfigurationError: a URL that is not http(s), or an empty secret.
    """

    def __init__(
        self,
        name: str,
        url: str,
        *,
        secret: str | bytes,
        client: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
        graphs: Iterable[str] | None = None,
        kinds: Iterable[str] | None = None,
        remind_before: float | None = None,
    ) -> None:
        super().__init__(name, graphs=graphs, kinds=kinds, remind_before=remind_before)
        if not url.startswith(("http://", "https://")):
            raise ConfigurationError(f"webhook {name!r}: url must be http(s), got {url!r}")
        if not secret:
            raise ConfigurationError(f"webhook {name!r}: a signing secret is required")
        self.url, self.secret, self.client, self.timeout = url, secret, client, timeout

    async def send(self, notice: Notice) -> None:
        body = json.dumps(notice.to_json(), separators=(",", ":"), default=str).encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign_webhook(self.secret, body),
            "Idempotency-Key": notice.key,
            "Locus-Event": notice.kind,
        }
        try:
            if self.client is not None:
                response = await self.client.post(
                    self.url, content=body, headers=headers, timeout=self.timeout
                )
            else:
                async with httpx.AsyncClient(timeout=self.timeout) as client:
                    response = await client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            where = f"webhook {self.name!r}: POST {self.url}"
            raise NotificationError(f"{where} failed: {exc!r}") from exc
        if not response.is_success:
            raise NotificationError(
                f"webhook {self.name!r}: POST {self.url} answered {response.status_code}"
            )
