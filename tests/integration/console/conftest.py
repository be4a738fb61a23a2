"""The console against a live API (uvicorn on a real, migrated Postgres), driven by Debian's
Chromium through Playwright. No workers run: resources stay CREATING, which every journey here
allows; a test that needs Operation progress writes it as a worker would."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from tests.conftest import REPO, LiveApi

CHROMIUM = os.environ.get("KPLANE_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = REPO / ".run" / "console-screenshots"
AXE = REPO / "app" / "console" / "static" / "axe.min.js"
PROJECT = "shop"
CLUSTER = "main"


@dataclass(frozen=True)
class Console:
    """The live API with one project, one cluster and a token of each role."""

    base_url: str
    api: httpx.Client
    tokens: dict[str, str]

    def url(self, path: str) -> str:
        return f"{self.base_url}/console/{path.lstrip('/')}"


@pytest.fixture(scope="session")
def console(live_api: LiveApi) -> Iterator[Console]:
    with httpx.Client(base_url=live_api.base_url, headers=live_api.admin, timeout=30) as api:
        api.post("/v1/projects", params={"project_id": PROJECT}, json={}).raise_for_status()
        api.post(
            f"/v1/projects/{PROJECT}/clusters",
            params={"cluster_id": CLUSTER},
            json={"broker_count": 3, "storage_gib": 10},
        ).raise_for_status()
        tokens = {"admin": live_api.admin["Authorization"].removeprefix("Bearer ")}
        for role in ("viewer", "editor", "owner"):
            r = api.post(
                f"/v1/projects/{PROJECT}/tokens", params={"token_id": role}, json={"role": role}
            )
            r.raise_for_status()
            tokens[role] = r.json()["secret"]
        yield Console(live_api.base_url, api, tokens)


# Package-scoped, not session-scoped: Playwright's sync API keeps an event loop running in this
# thread while it is open, and every async (anyio) test that runs after the console's would
# then fail with "Cannot run the event loop while another loop is running".
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make os-deps` (devstack/os-deps.sh installs it)")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    return SCREENSHOTS


def sign_in(browser: Browser, console: Console, role: str, **options: object) -> BrowserContext:
    """A browser context signed in with the token of `role` through the sign-in form."""
    context = browser.new_context(**options)  # type: ignore[arg-type]
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(console.url("signin"))
    page.get_by_label("token").fill(console.tokens[role])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/signin" not in url)
    page.close()
    return context


@pytest.fixture
def editor(browser: Browser, console: Console) -> Iterator[Page]:
    context = sign_in(browser, console, "editor")
    yield context.new_page()
    context.close()


@pytest.fixture
def viewer(browser: Browser, console: Console) -> Iterator[Page]:
    context = sign_in(browser, console, "viewer")
    yield context.new_page()
    context.close()
