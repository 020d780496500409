"""/docs in a real browser (Debian's chromium): Swagger UI renders the API from this machine alone, and its
"Try it out" reaches the stack that served it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser.conftest import OfflinePage
from tools.devproc import StackInfo

pytestmark = pytest.mark.browser

LIST_TICKETS = "#operations-tickets-listTickets"  # Swagger UI's id: tag + operationId
# Set SCREENSHOT_DIR=/some/dir to keep what the browser showed.
SCREENSHOT_DIR = os.environ.get("SCREENSHOT_DIR")


def _screenshot(tab: OfflinePage, name: str) -> None:
    if SCREENSHOT_DIR:
        tab.page.screenshot(path=str(Path(SCREENSHOT_DIR) / name), full_page=False)


def test_given_no_network_when_docs_load_then_swagger_ui_shows_every_operation_from_local_assets(
    stack: StackInfo, offline_page: OfflinePage
) -> None:
    from playwright.sync_api import expect

    page = offline_page.page
    page.goto(f"{stack.base_url}/docs")

    operation = page.locator(LIST_TICKETS)
    expect(operation).to_be_visible(timeout=30_000)
    _screenshot(offline_page, "docs.png")
    operation.scroll_into_view_if_needed()
    _screenshot(offline_page, "docs-list-tickets.png")
    assert "opblock-get" in (operation.get_attribute("class") or "")
    expect(operation.locator(".opblock-summary-path")).to_have_attribute("data-path", "/v1/tickets")
    spec = stack.request("GET", "/openapi.json").json
    operations = sum(1 for item in spec["paths"].values() for method in item if method != "parameters")
    expect(page.locator(".opblock")).to_have_count(operations)
    expect(page.locator(".info .title")).to_contain_text("Tickets API")
    assert offline_page.offsite == []
    assert offline_page.errors == []
    assets = {"/docs", "/docs/static/swagger-ui-bundle.min.js", "/docs/static/swagger-ui.min.css", "/openapi.json"}
    local = [url.removeprefix(stack.base_url) for url in offline_page.requested]
    assert assets <= set(local), local


def test_given_the_docs_when_authorized_and_list_tickets_is_tried_then_this_stack_answers_200(
    stack: StackInfo, offline_page: OfflinePage
) -> None:
    from playwright.sync_api import expect

    made = stack.create_ticket(stack.api_key, subject="Seen from Swagger UI")
    page = offline_page.page
    page.goto(f"{stack.base_url}/docs")
    operation = page.locator(LIST_TICKETS)
    expect(operation).to_be_visible(timeout=30_000)

    page.locator(".auth-wrapper .authorize").click()
    api_key_form = page.locator(".modal-ux form").first
    api_key_form.locator("input").fill(stack.api_key)
    api_key_form.locator("button.authorize").click()
    page.locator(".modal-ux button.btn-done").first.click()
    operation.locator(".opblock-summary-control").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()

    response = operation.locator(".live-responses-table .response")
    expect(response.locator(".response-col_status")).to_have_text("200", timeout=30_000)
    expect(response.locator(".response-col_description")).to_contain_text(made["id"])
    _screenshot(offline_page, "try-it-out.png")
    asked = [url for url in offline_page.requested if "/v1/tickets" in url]
    assert asked and all(url.startswith(f"{stack.base_url}/v1/tickets?") for url in asked), asked
    assert offline_page.offsite == []
    assert offline_page.errors == []
