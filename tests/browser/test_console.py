"""The agent console (/console/) in a real browser (Debian's chromium) against `python -m tools.devstack`.

Seed 001 end to end: a business event (POST /v1/tickets/api-create) auto-assigned to the signed-in N1 agent shows
up in "Mine" with a notice, live, and the assignment email is sent. Then replies that reach the customer, two
consoles that collide on one ticket, a hostile subject, a reconnect that catches up, the key's whereabouts and the
keyboard. Each test makes its own tenant; the tests share the stack and the browser.

SCREENSHOT_DIR=/some/dir keeps the screenshots (otherwise they go to pytest's temporary directory).
"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.browser.conftest import OfflinePage
from tests.e2e import test_readme
from tests.e2e.test_readme import bash, commands, here, sh_blocks
from tools.devproc import StackInfo, TenantFactory, TenantKey, aimed_at

pytestmark = pytest.mark.browser

PUSH_WITHIN_MS = 2_000
AGENT_SCOPES = ["tickets:read", "tickets:write", "tickets:status"]
XSS_SUBJECT = "<img src=x onerror=alert(1)>"
shell_env = test_readme.shell_env  # its fixture: the README's commands run in a user's shell (curl fails on a 4xx)


@dataclass
class Agent:
    id: str
    name: str
    key: str
    tenant: TenantKey


@pytest.fixture(scope="module")
def make_tenant(stack: StackInfo) -> TenantFactory:
    return TenantFactory(stack)


LAPTOP = {"width": 1280, "height": 800}


@pytest.fixture
def tab(offline_pages: Callable[..., OfflinePage]) -> OfflinePage:
    """The console on a laptop screen, in a browser context of its own."""
    return offline_pages(LAPTOP)


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path_factory.mktemp("console-screenshots"))
    where.mkdir(parents=True, exist_ok=True)
    return where


def _ok(resp: Any, status: int = 201) -> Any:
    assert resp.status == status, resp.body
    return resp.json


def make_agent(stack: StackInfo, tenant: TenantKey, name: str, level: str = "N1") -> Agent:
    """An available agent and a console key bound to it."""
    email = name.lower().replace(" ", ".") + "@example.com"
    body = {"name": name, "email": email, "level": level}
    agent = _ok(stack.request("POST", "/v1/agents", key=tenant.key, body=body))
    body = {"scopes": AGENT_SCOPES, "agentId": agent["id"], "name": f"{name}'s console"}
    key = _ok(stack.request("POST", "/v1/api-keys", key=tenant.key, body=body))["key"]
    return Agent(agent["id"], name, key, tenant)


def customer(stack: StackInfo, tenant: TenantKey, external_id: str = "cus_1042") -> dict[str, Any]:
    body = {"externalId": external_id, "name": "Ann Lee", "email": f"ann+{tenant.prefix.lower()}@example.com"}
    return _ok(stack.request("POST", "/v1/customers", key=tenant.key, body=body))


def api_create(stack: StackInfo, tenant: TenantKey, subject: str, **fields: Any) -> dict[str, Any]:
    body = {"customerExternalId": "cus_1042", "subject": subject, "priority": "high", **fields}
    return _ok(stack.request("POST", "/v1/tickets/api-create", key=tenant.key, body=body))


def sign_in(tab: OfflinePage, stack: StackInfo, key: str) -> Any:
    from playwright.sync_api import expect

    page = tab.page
    response = page.goto(f"{stack.base_url}/console/")
    field = page.get_by_label("Agent API key")
    field.fill(key)
    field.press("Enter")
    expect(page.locator("#live")).to_have_text("Live", timeout=10_000)
    return response


def signed_in(stack: StackInfo, make_tenant: TenantFactory, tab: OfflinePage, prefix: str) -> tuple[TenantKey, Agent]:
    """A new tenant with the customer cus_1042 and an N1 agent (api-create's pick), signed in to the console."""
    tenant = make_tenant(prefix)
    agent = make_agent(stack, tenant, "Grace Hopper")
    customer(stack, tenant)
    sign_in(tab, stack, agent.key)
    return tenant, agent


def emails(stack: StackInfo) -> list[dict[str, Any]]:
    return _ok(stack.request("GET", "/_local/emails"), 200)


def wait_for(what: Callable[[], Any], seconds: float = 10, message: str = "") -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if found := what():
            return found
        time.sleep(0.1)
    raise AssertionError(f"waited {seconds} s: {message}")


def row(tab: OfflinePage, reference: str) -> Any:
    return tab.page.locator("#tickets .row").filter(has=tab.page.locator(".ref", has_text=reference))


def open_ticket(tab: OfflinePage, queue: str, reference: str) -> None:
    """Open a ticket from a queue: "mine", "unassigned" or "open"."""
    from playwright.sync_api import expect

    tab.page.locator(f'[data-queue="{queue}"]').click()
    row(tab, reference).click()
    expect(tab.page.locator("#t-ref")).to_have_text(reference)
    expect(tab.page.locator("#t-thread")).not_to_be_empty()


def no_errors(tab: OfflinePage, *expected: str) -> None:
    """No page error, no console error but the `expected` ones (the browser logs every 4xx it receives), no dialog,
    nothing sent off this machine."""
    unexpected = [e for e in tab.errors if not any(x in e for x in expected)]
    assert unexpected == [] and tab.dialogs == [] and tab.offsite == [], (unexpected, tab.dialogs, tab.offsite)


# ------------------------------------------------------------------------------------------------ the tests


def test_given_an_agent_key_when_signing_in_and_out_then_the_key_stays_in_this_tabs_session_storage_only(
    stack: StackInfo, make_tenant: TenantFactory, tab: OfflinePage
) -> None:
    from playwright.sync_api import expect

    agent = make_agent(stack, make_tenant("CA"), "Grace Hopper")
    page = tab.page
    page.goto(f"{stack.base_url}/console/")
    page.get_by_label("Agent API key").fill("tk_" + "n" * 40)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#signin-error")).to_have_text("This key is unknown or has been revoked.")
    assert page.evaluate("sessionStorage.length") == 0

    response = sign_in(tab, stack, agent.key)

    expect(page.locator("#agent")).to_have_text("Grace Hopper · N1")
    expect(page.locator('[data-count="mine"]')).to_have_text("0")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "frame-ancestors 'none'" in csp and stack.ws_url in csp, csp
    assert page.evaluate("sessionStorage.getItem('tickets.console.key')") == agent.key
    assert page.evaluate("localStorage.length") == 0 and page.evaluate("document.cookie") == ""
    assert agent.key not in page.url
    assert not [url for url in tab.requested if agent.key in url]

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Agent API key")).to_be_focused()
    assert page.evaluate("sessionStorage.length") == 0
    expect(page.locator("#app")).to_be_hidden()
    no_errors(tab, "status of 401")


def test_given_the_n1_agents_console_when_a_business_event_arrives_then_it_shows_live_with_a_notice_and_an_email(
    stack: StackInfo, make_tenant: TenantFactory, tab: OfflinePage, screenshots: Path
) -> None:
    """Seed 001: "notified by email and in the real-time dashboard"."""
    from playwright.sync_api import expect

    tenant, agent = signed_in(stack, make_tenant, tab, "CB")
    page = tab.page
    page.evaluate("window.notReloaded = true")

    started = time.monotonic()
    created = api_create(stack, tenant, "Payment failed for order ord_98431", metadata={"orderId": "ord_98431"})
    assert created["assigneeId"] == agent.id and created["status"] == "open"
    expect(row(tab, created["reference"])).to_be_visible(timeout=PUSH_WITHIN_MS)
    notice = page.locator("#notices .notice")
    expect(notice).to_contain_text(f"Assigned to you: {created['reference']} · Payment failed", timeout=PUSH_WITHIN_MS)
    elapsed_ms = (time.monotonic() - started) * 1000

    assert elapsed_ms < PUSH_WITHIN_MS, elapsed_ms
    assert page.evaluate("window.notReloaded") is True
    expect(page.locator('[data-count="mine"]')).to_have_text("1", timeout=PUSH_WITHIN_MS)
    expect(row(tab, created["reference"]).locator(".new-dot")).to_have_text("New")
    page.screenshot(path=str(screenshots / "console-assigned-notice.png"))
    subject = f"[{created['reference']}] Payment failed for order ord_98431"
    mail = wait_for(lambda: [m for m in emails(stack) if m["subject"] == subject], message="the assignment email")
    assert mail[0]["to"] == ["grace.hopper@example.com"]

    notice.get_by_role("button", name="Open").click()
    expect(page.locator("#ticket-title")).to_have_text("Payment failed for order ord_98431")
    expect(page.locator("#t-assignee")).to_have_value(agent.id)
    print(f"\napi-create -> row and notice in the console: {elapsed_ms:.0f} ms")
    no_errors(tab)


def test_given_an_open_ticket_when_the_agent_replies_with_a_file_and_adds_a_note_then_only_the_reply_is_emailed(
    stack: StackInfo, make_tenant: TenantFactory, tab: OfflinePage, screenshots: Path
) -> None:
    from playwright.sync_api import expect

    tenant, agent = signed_in(stack, make_tenant, tab, "CC")
    description = "Card declined at checkout, **twice**.\n\n- Visa ending 4242\n- 129.00 EUR\n\nError `card_declined`."
    ticket = api_create(stack, tenant, "Payment failed for order ord_98431", description=description)
    page = tab.page
    open_ticket(tab, "mine", ticket["reference"])

    composer = page.locator("#composer")
    composer.get_by_label("Reply to the customer").fill(
        "Hi Ann, the block is lifted: please try again. Receipt attached."
    )
    page.set_input_files("#c-files", files=[{"name": "receipt.txt", "mimeType": "text/plain",
                                             "buffer": b"Order ord_98431\nRefund: none needed\n"}])  # fmt: skip
    composer.get_by_label("Reply to the customer").press("Control+Enter")
    reply = page.locator("#t-thread .message.reply")
    expect(reply).to_contain_text("the block is lifted", timeout=30_000)
    expect(reply.get_by_role("button", name="Download receipt.txt")).to_be_visible()

    composer.get_by_label("Internal note", exact=True).check()
    composer.get_by_label("Internal note (agents only)").fill("Issuer confirmed a fraud-rule hit; whitelisted 24 h.")
    composer.get_by_role("button", name="Add note").click()
    note = page.locator("#t-thread .message.note")
    expect(note).to_contain_text("fraud-rule hit")
    expect(note.locator(".mtype")).to_have_text("Internal note")
    expect(page.locator("#t-thread .message.description strong")).to_have_text("twice")
    page.locator("#t-thread .message").first.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "console-conversation.png"))

    ann = f"ann+{tenant.prefix.lower()}@example.com"
    to_ann = wait_for(lambda: [m for m in emails(stack) if m["to"] == [ann]], message="the reply email")
    assert len(to_ann) == 1, to_ann  # the note is never emailed
    assert to_ann[0]["subject"] == f"Re: [{ticket['reference']}] Payment failed for order ord_98431"
    assert "the block is lifted" in to_ann[0]["text"] and "fraud" not in to_ann[0]["text"]
    assert [a["filename"] for a in to_ann[0]["attachments"]] == ["receipt.txt"]
    with page.expect_download() as download:
        reply.get_by_role("button", name="Download receipt.txt").click()
    assert download.value.suggested_filename == "receipt.txt"
    comments = _ok(stack.request("GET", f"/v1/tickets/{ticket['id']}/comments", key=agent.key), 200)["data"]
    assert [(c["visibility"], c["author"]["id"]) for c in comments] == [("public", agent.id), ("internal", agent.id)]
    no_errors(tab)


def test_given_two_consoles_on_one_ticket_when_both_change_it_then_the_second_sees_a_conflict_and_nothing_is_lost(
    stack: StackInfo, make_tenant: TenantFactory, offline_pages: Callable[..., OfflinePage], screenshots: Path
) -> None:
    from playwright.sync_api import expect

    tenant = make_tenant("CD")
    grace = make_agent(stack, tenant, "Grace Hopper")
    alan = make_agent(stack, tenant, "Alan Turing", level="N2")
    customer(stack, tenant)
    ticket = api_create(stack, tenant, "Invoice shows the wrong VAT number")
    first, second = offline_pages(LAPTOP), offline_pages(LAPTOP)
    sign_in(first, stack, grace.key)
    sign_in(second, stack, alan.key)
    open_ticket(first, "mine", ticket["reference"])
    open_ticket(second, "open", ticket["reference"])
    patches: list[dict[str, Any]] = []
    second.page.on("request", lambda r: patches.append(r.headers) if r.method == "PATCH" else None)

    first.page.get_by_label("Status").select_option("pending")
    expect(first.page.locator("#t-saving")).to_have_text("Saved")
    expect(second.page.locator("#t-stale")).to_contain_text("Changed elsewhere", timeout=PUSH_WITHIN_MS)
    second.page.get_by_label("Priority").select_option("urgent")

    alert = second.page.get_by_role("alert").filter(has_text="changed by someone else")
    expect(alert).to_contain_text(f"Not saved: {ticket['reference']} was changed by someone else")
    expect(second.page.get_by_label("Status")).to_have_value("pending")  # the current ticket, reloaded
    expect(second.page.get_by_label("Priority")).to_have_value("high")
    second.page.screenshot(path=str(screenshots / "console-conflict.png"))
    assert [h.get("if-match") for h in patches] == ['"1"']
    stored = _ok(stack.request("GET", f"/v1/tickets/{ticket['id']}", key=tenant.key), 200)
    assert (stored["status"], stored["priority"], stored["version"]) == ("pending", "high", 2)

    second.page.get_by_label("Priority").select_option("urgent")  # again, on the current version: it lands
    expect(second.page.locator("#t-saving")).to_have_text("Saved")
    stored = _ok(stack.request("GET", f"/v1/tickets/{ticket['id']}", key=tenant.key), 200)
    assert (stored["status"], stored["priority"], stored["version"]) == ("pending", "urgent", 3)
    no_errors(first)
    no_errors(second, "status of 412")


def test_given_a_ticket_whose_subject_and_messages_are_html_when_shown_then_they_are_text_and_no_script_runs(
    stack: StackInfo, make_tenant: TenantFactory, tab: OfflinePage
) -> None:
    from playwright.sync_api import expect

    tenant = make_tenant("CE")
    agent = make_agent(stack, tenant, "Grace Hopper")
    page = tab.page
    page.context.add_init_script(
        "window.violations = []; document.addEventListener('securitypolicyviolation', e => "
        "window.violations.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    sign_in(tab, stack, agent.key)
    description = ("<script>alert(2)</script>\n\n[click me](javascript:alert(3)) and <img src=x onerror=alert(4)>"
                   "\n\n**<b onmouseover=alert(5)>bold</b>**")  # fmt: skip
    made = stack.create_ticket(tenant.key, subject=XSS_SUBJECT, description=description)  # live: a push
    _ok(stack.request("POST", f"/v1/tickets/{made['id']}/comments", key=tenant.key,
                      body={"body": "<svg onload=alert(6)></svg> `<iframe src=javascript:alert(7)>`"}))  # fmt: skip

    page.locator('[data-queue="unassigned"]').click()
    listed = row(tab, made["reference"])
    expect(listed.locator(".row-subject")).to_have_text(XSS_SUBJECT)
    listed.click()
    expect(page.locator("#ticket-title")).to_have_text(XSS_SUBJECT)
    thread = page.locator("#t-thread")
    expect(thread).to_contain_text("<script>alert(2)</script>")
    expect(thread).to_contain_text("<svg onload=alert(6)></svg>")
    expect(thread.locator("code")).to_have_text("<iframe src=javascript:alert(7)>")

    foreign = ("img:not([src^='/console/'])", "script:not([src='/console/app.js'])", "svg", "iframe", "b[onmouseover]")
    for selector in (*foreign, "a[href^='javascript']"):
        assert page.locator(selector).count() == 0, selector
    assert thread.locator("a").count() == 0  # the javascript: link stays text
    page.locator("#ticket-title").hover()
    page.wait_for_timeout(300)
    assert page.evaluate("window.violations") == []
    no_errors(tab)


def test_given_a_socket_the_server_closed_when_a_ticket_is_made_meanwhile_then_the_console_reconnects_and_catches_up(
    stack: StackInfo, make_tenant: TenantFactory, tab: OfflinePage
) -> None:
    from playwright.sync_api import expect

    from tickets.dal import realtime

    tenant, _ = signed_in(stack, make_tenant, tab, "CF")
    page = tab.page
    with aimed_at(stack):
        (connection,) = realtime.tenant_connections(tenant.id)
    # Hold the console's new tokens back until the ticket's push has come and gone, so only a catch-up can find it.
    page.route("**/v1/realtime/tokens", lambda route: route.abort())

    state = json.loads(Path(str(stack.state_file)).read_text())
    endpoint = state["localEndpoints"]["REALTIME_CONNECTIONS_URL"]
    closing = urllib.request.Request(f"{endpoint}/@connections/{quote(connection['connectionId'], safe='')}",
                                     method="DELETE")  # fmt: skip
    with urllib.request.urlopen(closing) as answer:
        assert answer.status == 204
    expect(page.locator("#live")).to_contain_text("Reconnecting in")
    missed = api_create(stack, tenant, "Refund not received")
    wait_for(lambda: _pushed(stack, tenant), message="the stream consumers to run")
    page.wait_for_timeout(500)
    expect(row(tab, missed["reference"])).to_have_count(0)  # no socket: no push

    page.unroute("**/v1/realtime/tokens")
    expect(page.locator("#live")).to_have_text("Live", timeout=40_000)
    expect(row(tab, missed["reference"])).to_be_visible()
    expect(page.locator("#notices")).to_contain_text(f"Assigned to you: {missed['reference']}")
    catch_ups = [u for u in tab.requested if "sort=updatedAt" in u and "updatedSince=" in u]
    assert catch_ups, tab.requested
    with aimed_at(stack):
        assert [c["connectionId"] for c in realtime.tenant_connections(tenant.id)] != [connection["connectionId"]]
    no_errors(tab, "net::ERR_FAILED")


def _pushed(stack: StackInfo, tenant: TenantKey) -> bool:
    """The assignment email of the tenant's newest ticket is out: the stream has been read past its write."""
    return any(m["subject"].startswith(f"[{tenant.prefix}-") for m in emails(stack))


def test_given_the_console_when_used_from_the_keyboard_then_rows_open_with_enter_and_escape_goes_back(
    stack: StackInfo, make_tenant: TenantFactory, tab: OfflinePage
) -> None:
    from playwright.sync_api import expect

    tenant, _ = signed_in(stack, make_tenant, tab, "CG")
    older = api_create(stack, tenant, "Cannot log in after password reset")
    newer = api_create(stack, tenant, "Invoice shows the wrong VAT number")
    page = tab.page
    expect(page.locator("#tickets .row")).to_have_count(2)

    page.locator('[data-queue="mine"]').focus()
    for _ in range(4):  # Unassigned, All open, Refresh, then the first row
        page.keyboard.press("Tab")
    expect(row(tab, newer["reference"])).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(row(tab, older["reference"])).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#ticket-title")).to_be_focused()
    expect(page.locator("#ticket-title")).to_have_text("Cannot log in after password reset")
    page.keyboard.press("Escape")
    expect(page.locator("#ticket-view")).to_be_hidden()
    expect(row(tab, older["reference"])).to_be_focused()
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"  # focus is visible
    no_errors(tab)


def test_given_make_dev_when_the_readmes_console_commands_run_then_seed_001_shows_live_for_the_demo_agent(
    stack: StackInfo, tab: OfflinePage, shell_env: dict[str, str], screenshots: Path
) -> None:
    """The README's "Agent console" section as written: the demo agent's key, then seed 001 in the browser."""
    from playwright.sync_api import expect

    key_block, event_block = sh_blocks("Agent console")
    session_start = "\n".join(commands(here(sh_blocks("A curl session")[0], stack))[:3])  # KEY, API, field()
    key = bash(f"{session_start}\n{here(key_block, stack)}", shell_env).stdout.strip().splitlines()[-1]
    assert key.startswith("tk_"), key
    sign_in(tab, stack, key)
    page = tab.page
    expect(page.locator("#agent")).to_have_text("Grace Hopper · N1")  # the agent make dev seeds

    bash(f"{session_start}\n{here(event_block, stack)}", shell_env)

    created = page.locator("#tickets .row").filter(has_text="Payment failed for order ord_98431")
    expect(created).to_be_visible(timeout=PUSH_WITHIN_MS)
    expect(page.locator("#notices")).to_contain_text("Assigned to you: DEMO-2 · Payment failed", timeout=PUSH_WITHIN_MS)
    expect(page.locator('[data-count="mine"]')).to_have_text("1")
    page.wait_for_timeout(300)  # the notice's slide-in
    page.screenshot(path=str(screenshots / "console-seed-001.png"))
    mail = wait_for(lambda: [m for m in emails(stack) if m["subject"] == "[DEMO-2] Payment failed for order ord_98431"])
    assert mail[0]["to"] == ["grace@example.com"]
    no_errors(tab)


MARKDOWN_CASES = [
    ("**bold**, *italic*, _italic_ and `code`; snake_case_name stays",
     "<p><strong>bold</strong>, <em>italic</em>, <em>italic</em> and <code>code</code>; snake_case_name stays</p>"),
    ("[site](https://example.com/a?b=1) and https://example.com/x.",
     '<p><a href="https://example.com/a?b=1" rel="noopener noreferrer nofollow" target="_blank">site</a> and '
     '<a href="https://example.com/x" rel="noopener noreferrer nofollow" target="_blank">https://example.com/x</a>.</p>'),
    ("[x](javascript:alert(1)) [y](data:text/html,hi) [z](vbscript:x)",
     "<p>[x](javascript:alert(1)) [y](data:text/html,hi) [z](vbscript:x)</p>"),
    ("<b onmouseover=alert(1)>hi</b> &amp; &lt;",
     "<p>&lt;b onmouseover=alert(1)&gt;hi&lt;/b&gt; &amp;amp; &amp;lt;</p>"),
    ("- one\n- two\n\n1. first\n\n> quoted\n\n```js\n<script>x</script>\n```",
     "<ul><li>one</li><li>two</li></ul><ol><li>first</li></ol><blockquote><p>quoted</p></blockquote>"
     "<pre><code>&lt;script&gt;x&lt;/script&gt;</code></pre>"),
    ("line one\nline two", "<p>line one<br>line two</p>"),
    ("``` not a fence: shown", "<p>``` not a fence: shown</p>"),
]  # fmt: skip
PATHOLOGICAL = ["**a" * 20_000, "*" * 65_536, "[" * 65_536, "`" * 65_536, "_a" * 30_000, ">" * 65_536,
                "- " * 30_000, "[a](" * 15_000, "https://" + "a" * 60_000]  # fmt: skip


def test_given_markdown_when_rendered_then_a_tiny_subset_becomes_nodes_and_everything_else_stays_text_quickly(
    stack: StackInfo, tab: OfflinePage
) -> None:
    page = tab.page
    page.goto(f"{stack.base_url}/console/")
    script = """async (texts) => {
      const { renderMarkdown } = await import('/console/markdown.js');
      return texts.map((text) => {
        const started = performance.now();
        const box = document.createElement('div');
        box.append(renderMarkdown(text));
        return { html: box.innerHTML, text: box.textContent, ms: performance.now() - started };
      });
    }"""

    rendered = page.evaluate(script, [text for text, _ in MARKDOWN_CASES])
    assert [r["html"] for r in rendered] == [html for _, html in MARKDOWN_CASES]
    slow = page.evaluate(script, PATHOLOGICAL)
    assert max(r["ms"] for r in slow) < 1_000, [round(r["ms"]) for r in slow]
    letters = [(re.sub(r"[^a-z]", "", r["text"]), re.sub(r"[^a-z]", "", text)) for r, text in zip(slow, PATHOLOGICAL)]
    assert all(shown == given for shown, given in letters)  # markup characters may go, what they mark stays
    no_errors(tab)
