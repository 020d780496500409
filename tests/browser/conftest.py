"""Browser fixtures: Debian's chromium, driven by Playwright, against `python -m tools.devstack`.

Nothing may leave this machine: every request the page makes to a host other than the stack's loopback address
is aborted and recorded, so a test can assert that a page works offline and never tried to go out.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tools.devproc import StackInfo, running_stack

# `make test` installs it (apt-get install chromium) when missing; another one can be named with CHROMIUM=.
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI and this machine run as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


@dataclass
class OfflinePage:
    """A page whose requests are all recorded; those to another host than loopback are aborted (`offsite`)."""

    page: Any  # playwright.sync_api.Page
    requested: list[str] = field(default_factory=list)
    offsite: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # uncaught page errors and console errors
    dialogs: list[str] = field(default_factory=list)  # alert / confirm / prompt messages (each dismissed)


@pytest.fixture(scope="module")
def stack() -> Iterator[StackInfo]:
    """`python -m tools.devstack` exactly as `make dev` runs it, once per test module. An AWS call its template
    policy refused (tools/iam.py) fails the module, as in tests/e2e."""
    with running_stack() as info:
        yield info
    if info.iam_denials:
        pytest.fail("the stack refused AWS calls:\n" + "\n".join(info.iam_denials), pytrace=False)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).is_file():
        pytest.fail(
            f"{CHROMIUM} is missing: `make test` installs Debian's chromium (apt-get install chromium); "
            "elsewhere, set CHROMIUM=/path/to/chromium"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def open_offline(browser: Any, viewport: dict[str, int] | None = None) -> tuple[Any, OfflinePage]:
    """A new browser context (its own storage) and its page, recorded and kept on this machine (see OfflinePage)."""
    context = browser.new_context(viewport=viewport or {"width": 1280, "height": 900})
    seen = OfflinePage(context.new_page())

    def guard(route: Any) -> None:
        url = route.request.url
        seen.requested.append(url)
        if urlsplit(url).hostname in LOOPBACK:
            route.continue_()
        else:
            seen.offsite.append(url)
            route.abort()

    context.route("**/*", guard)  # the context's route also sees service workers' and popups' requests
    seen.page.on("pageerror", lambda exc: seen.errors.append(f"page error: {exc}"))
    seen.page.on("console", lambda msg: seen.errors.append(f"console: {msg.text}") if msg.type == "error" else None)
    seen.page.on("dialog", lambda dialog: (seen.dialogs.append(dialog.message), dialog.dismiss()))
    return context, seen


@pytest.fixture
def offline_page(browser: Any) -> Iterator[OfflinePage]:
    context, seen = open_offline(browser)
    try:
        yield seen
    finally:
        context.close()


@pytest.fixture
def offline_pages(browser: Any) -> Iterator[Callable[..., OfflinePage]]:
    """Opens as many offline pages as a test needs, each in its own context (two agents' browsers)."""
    contexts: list[Any] = []

    def open_page(viewport: dict[str, int] | None = None) -> OfflinePage:
        context, seen = open_offline(browser, viewport)
        contexts.append(context)
        return seen

    try:
        yield open_page
    finally:
        for context in contexts:
            context.close()
