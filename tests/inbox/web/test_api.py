"""The JSON API through the ASGI app: every route, each auth failure, and the error codes."""

from __future__ import annotations

import httpx
from conftest import bearer, item_of, log_in

from locus.checkpoint import Checkpointer
from locus.inbox import Inbox


async def test_api_without_credentials_is_401_with_a_bearer_challenge(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/api/interrupts")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"]["code"] == "unauthenticated"


async def test_api_with_a_token_not_in_the_file_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/interrupts", headers=bearer("lct_not-a-real-token"))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "bad_token"


async def test_api_with_a_non_bearer_scheme_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/interrupts", headers={"Authorization": "Basic YTpi"})
    assert response.status_code == 401


async def test_api_lists_every_pending_item_across_graphs(
    client: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    response = await client.get("/api/interrupts", headers=bearer(tokens["ana"]))
    assert response.status_code == 200
    graphs = sorted(i["graph"] for i in response.json()["items"])
    assert graphs == ["choices", "refunds", "support"]


async def test_api_mine_lists_only_items_the_actor_may_answer(
    client: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    response = await client.get("/api/interrupts?mine=true", headers=bearer(tokens["ana"]))
    assert "refunds" not in [i["graph"] for i in response.json()["items"]]


async def test_api_get_returns_the_item_with_its_schema_and_digest(
    client: httpx.AsyncClient, store: Checkpointer, tokens: dict[str, str]
) -> None:
    item = await item_of(store, "support")
    response = await client.get(f"/api/interrupts/{item.id}", headers=bearer(tokens["ana"]))
    body = response.json()
    assert body["digest"] == item.digest
    assert body["response_schema"]["title"] == "Triage"
    assert body["deadline"] is not None


async def test_api_unknown_interrupt_is_404(
    client: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    response = await client.get("/api/interrupts/nope", headers=bearer(tokens["ana"]))
    assert response.status_code == 404
    assert "nope" in response.json()["error"]["message"]


async def test_api_answer_by_an_actor_without_the_role_is_403(
    client: httpx.AsyncClient, store: Checkpointer, tokens: dict[str, str]
) -> None:
    item = await item_of(store, "refunds")
    response = await client.post(
        f"/api/interrupts/{item.id}/answer",
        json={"value": {"approved": True}},
        headers=bearer(tokens["ana"]),
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_allowed"
    assert (await Inbox(store).get(item.id)).id == item.id  # still pending


async def test_api_second_answer_is_409(
    client: httpx.AsyncClient, store: Checkpointer, tokens: dict[str, str]
) -> None:
    item = await item_of(store, "refunds")
    url = f"/api/interrupts/{item.id}/answer"
    first = await client.post(
        url, json={"value": {"approved": True}}, headers=bearer(tokens["fin"])
    )
    assert first.status_code == 200
    assert first.json()["complete"] is True
    second = await client.post(
        url, json={"value": {"approved": False}}, headers=bearer(tokens["fin"])
    )
    assert second.status_code == 409, second.json()


async def test_api_invalid_value_is_422_naming_the_field(
    client: httpx.AsyncClient, store: Checkpointer, tokens: dict[str, str]
) -> None:
    item = await item_of(store, "support")
    value = {"priority": "low", "minutes": 0, "note": "fine", "customer": {"name": "Bo"}}
    response = await client.post(
        f"/api/interrupts/{item.id}/answer", json={"value": value}, headers=bearer(tokens["ana"])
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_value"
    assert "minutes" in response.json()["error"]["message"]


async def test_api_answer_body_without_value_is_422_naming_value(
    client: httpx.AsyncClient, store: Checkpointer, tokens: dict[str, str]
) -> None:
    item = await item_of(store, "support")
    response = await client.post(
        f"/api/interrupts/{item.id}/answer", json={"reason": "x"}, headers=bearer(tokens["ana"])
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "value"


async def test_api_answer_against_a_stale_digest_is_409(
    client: httpx.AsyncClient, store: Checkpointer, tokens: dict[str, str]
) -> None:
    item = await item_of(store, "choices")
    response = await client.post(
        f"/api/interrupts/{item.id}/answer",
        json={"value": "pro", "digest": "0" * 64},
        headers=bearer(tokens["ana"]),
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "stale"


async def test_api_answer_is_recorded_as_the_token_actor_whatever_the_body_says(
    client: httpx.AsyncClient, store: Checkpointer, tokens: dict[str, str]
) -> None:
    item = await item_of(store, "choices")
    response = await client.post(
        f"/api/interrupts/{item.id}/answer",
        json={"value": "pro", "reason": "fits", "actor": {"id": "mallory"}},
        headers=bearer(tokens["ana"]),
    )
    assert response.status_code == 200
    trail = await Inbox(store).audit(item.thread_id)
    answered = [e for e in trail if e.kind == "answered"]
    assert [e.actor.id for e in answered] == ["ana"]


async def test_api_thread_and_its_audit_trail(
    client: httpx.AsyncClient, store: Checkpointer, tokens: dict[str, str]
) -> None:
    thread = await client.get("/api/threads/c-1", headers=bearer(tokens["ana"]))
    assert thread.status_code == 200
    assert thread.json()["status"] == "paused"
    assert thread.json()["graph"] == "choices"
    audit = await client.get("/api/threads/c-1/audit", headers=bearer(tokens["ana"]))
    assert audit.json()["verified"] is True
    assert [e["kind"] for e in audit.json()["entries"]] == ["asked"]


async def test_api_unknown_thread_and_its_audit_are_404(
    client: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    for path in ("/api/threads/ghost", "/api/threads/ghost/audit"):
        response = await client.get(path, headers=bearer(tokens["ana"]))
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "thread_not_found"


async def test_api_thread_routes_need_credentials(client: httpx.AsyncClient) -> None:
    for path in ("/api/threads/c-1", "/api/threads/c-1/audit", "/api/interrupts/x"):
        assert (await client.get(path)).status_code == 401, path


async def test_cookie_session_reads_but_a_write_without_csrf_header_is_403(
    client: httpx.AsyncClient, store: Checkpointer, tokens: dict[str, str]
) -> None:
    await log_in(client, tokens["ana"])
    assert (await client.get("/api/interrupts")).status_code == 200
    item = await item_of(store, "choices")
    response = await client.post(f"/api/interrupts/{item.id}/answer", json={"value": "pro"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf"


async def test_openapi_documents_the_api_and_not_the_pages(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert set(paths) == {
        "/api/interrupts",
        "/api/interrupts/{interrupt_id}",
        "/api/interrupts/{interrupt_id}/answer",
        "/api/threads/{thread_id}",
        "/api/threads/{thread_id}/audit",
    }
    answer = paths["/api/interrupts/{interrupt_id}/answer"]["post"]
    assert {"401", "403", "404", "409", "422"} <= set(answer["responses"])
