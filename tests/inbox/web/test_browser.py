"""End to end in a real headless Chromium against ``locus inbox serve``: log in, open the
list, open an item, submit its generated form invalid then valid, see the item leave the
list, and resume the thread to its end.

Uses Debian's ``chromium`` (``/usr/bin/chromium``) through Playwright; no browser download.
Set ``LOCUS_UPDATE_SCREENSHOTS=1`` to rewrite the screenshots under ``docs/``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from support import refund_graph, triage_graph

from locus.checkpoint.sqlite import SQLiteCheckpointer
from locus.inbox.tokens import add_token

CHROMIUM = os.environ.get("LOCUS_CHROMIUM", "/usr/bin/chromium")
DOCS = Path(__file__).parents[3] / "docs"


def _needs_browser() -> None:
    reason = None
    if not Path(CHROMIUM).exists():
        reason = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    elif shutil.which("playwright", path=str(Path(sys.executable).parent)) is None:
        reason = "Playwright is not installed (pip install playwright)"
    if reason:
        if os.environ.get("LOCUS_REQUIRE_SERVICES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[tuple[str, str, str]]:
    """(base URL, database path, token) of a running ``locus inbox serve``."""
    _needs_browser()
    db = tmp_path / "e2e.db"
    async with SQLiteCheckpointer(str(db)) as cp:
        await triage_graph(cp).execute({"ticket": "T-1"}, thread_id="t-1")
        await refund_graph(cp).execute({"order": "A-1042"}, thread_id="r-1")
    tokens = tmp_path / "tokens.json"
    token = add_token(tokens, "ana", roles=frozenset({"support", "finance"}), display_name="Ana")
    port = _free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "locus", "inbox", "serve", "--store", f"sqlite:///{db}",
        "--tokens-file", str(tokens), "--port", str(port),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        for _ in range(200):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                break
            except OSError:
                if process.returncode is not None:
                    raise RuntimeError(await process.stderr.read()) from None  # type: ignore[union-attr]
                await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{port}", str(db), token
    finally:
        process.terminate()
        await process.wait()


async def test_a_reviewer_answers_a_generated_form_in_a_real_browser(
    server: tuple[str, str, str],
) -> None:
    from playwright.async_api import async_playwright, expect

    base, db, token = server
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        page = await browser.new_page(viewport={"width": 1100, "height": 760})
        await page.goto(base + "/")
        assert "/login" in page.url
        await page.fill("#token", token)
        await page.click("button[type=submit]")

        await expect(page.locator("h1")).to_contain_text("Pending")
        await expect(page.locator("#live-count")).to_have_text("2 pending")  # SSE
        await expect(page.locator("table.items tbody tr")).to_have_count(2)
        if os.environ.get("LOCUS_UPDATE_SCREENSHOTS") == "1":
            await page.screenshot(path=str(DOCS / "inbox-list.png"))
            await page.click("text=Run tool issue_refund?")
            await expect(page.locator("h1")).to_contain_text("issue_refund")
            await page.screenshot(path=str(DOCS / "inbox-tool-approval.png"), full_page=True)
            await page.go_back()

        await page.click("text=Triage ticket T-1")
        await expect(page.locator("h1")).to_have_text("Triage ticket T-1")
        await page.select_option("#f\\.priority", label="high")
        await page.fill("#f\\.minutes", "0")
        await page.fill("#f\\.note", "call back today")
        await page.fill("#f\\.customer\\.name", "Bo Li")
        await page.check("#f\\.customer\\.vip")
        await page.click("button[value=submit]")
        error = page.locator("#f\\.minutes-error")
        await expect(error).to_have_text("Enter a value of at least 1.")
        await expect(page.locator("#f\\.note")).to_have_value("call back today")

        await page.fill("#f\\.minutes", "30")
        await page.click("button[value=submit]")
        await expect(page.locator(".banner.ok")).to_contain_text("Triage ticket T-1 (answered)")
        await expect(page.locator("table.items tbody tr")).to_have_count(1)
        await expect(page.locator("table.items")).not_to_contain_text("Triage ticket T-1")
        await browser.close()

    async with SQLiteCheckpointer(db) as cp:
        done = await triage_graph(cp).execute(None, thread_id="t-1")
    assert done.final_state["triage"] == {
        "priority": "high",
        "minutes": 30,
        "note": "call back today",
        "customer": {"name": "Bo Li", "vip": True},
    }
