"""Every console page, light and dark: a screenshot under .run/console-screenshots/ for people to
look at, and axe-core (the vendored copy the console serves) finding no serious or critical
accessibility violation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.integration.console.conftest import CLUSTER, PROJECT, Console, sign_in

CLUSTER_PATH = f"projects/{PROJECT}/clusters/{CLUSTER}"
PAGES = {
    "projects": "projects",
    "project": f"projects/{PROJECT}",
    "cluster": CLUSTER_PATH,
    "topics": f"{CLUSTER_PATH}/topics",
    "topic": f"{CLUSTER_PATH}/topics/screens.orders",
    "topic-delete": f"{CLUSTER_PATH}/topics/screens.orders/delete",
    "acls": f"{CLUSTER_PATH}/acls",
    "acl": f"{CLUSTER_PATH}/acls/topic/screens.orders",
    "users": f"{CLUSTER_PATH}/users",
    "user": f"{CLUSTER_PATH}/users/screens-app",
    "operations": f"projects/{PROJECT}/operations",
    "audit-logs": f"projects/{PROJECT}/audit_logs",
    "tokens": f"projects/{PROJECT}/tokens",
}
AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 3).map(n => n.target.join(" ")),
  }));
}"""


@pytest.fixture(scope="module")
def seeded(console: Console) -> Console:
    api = console.api
    api.post(
        f"/v1/{CLUSTER_PATH}/topics",
        params={"topic_id": "screens.orders"},
        json={"partition_count": 6, "configs": {"retention.ms": "86400000"}},
    ).raise_for_status()
    api.post(
        f"/v1/{CLUSTER_PATH}/acls",
        params={"acl_id": "topic/screens.orders"},
        json={
            "acl_entries": [
                {"principal": "User:screens-app", "operation": "READ"},
                {"principal": "User:screens-app", "operation": "DESCRIBE"},
            ]
        },
    ).raise_for_status()
    api.post(
        f"/v1/{CLUSTER_PATH}/users", params={"user_id": "screens-app"}, json={}
    ).raise_for_status()
    return console


@pytest.fixture(scope="module", params=["light", "dark"])
def scheme(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def owner_context(browser: Browser, seeded: Console, scheme: str) -> Iterator[Any]:
    context = sign_in(
        browser, seeded, "owner", color_scheme=scheme, viewport={"width": 1280, "height": 900}
    )
    yield context
    context.close()


def test_every_page_renders_and_passes_axe(
    owner_context: Any, seeded: Console, scheme: str, screenshots: Path
) -> None:
    page = owner_context.new_page()
    failures: list[str] = []
    for name, path in PAGES.items():
        response = page.goto(seeded.url(path))
        assert response is not None and response.status == 200, f"{name}: {response}"
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        page.screenshot(path=screenshots / f"{name}-{scheme}.png", full_page=True)
        page.add_script_tag(url="/console/static/axe.min.js")
        for violation in page.evaluate(AXE_RUN):
            if violation["impact"] in ("serious", "critical"):
                failures.append(f"{name} ({scheme}): {violation}")
    page.goto(seeded.url("signin"))
    page.screenshot(path=screenshots / f"signin-{scheme}.png", full_page=True)
    assert not failures, "\n".join(failures)


def test_signin_page_passes_axe(browser: Browser, console: Console, screenshots: Path) -> None:
    page = browser.new_page()
    page.goto(console.url("signin"))
    page.add_script_tag(url="/console/static/axe.min.js")
    serious = [v for v in page.evaluate(AXE_RUN) if v["impact"] in ("serious", "critical")]
    assert not serious, serious
    page.close()


def test_the_keyboard_reaches_the_skip_link_first_with_a_visible_focus(
    browser: Browser, console: Console
) -> None:
    context = sign_in(browser, console, "viewer")
    page = context.new_page()
    page.goto(console.url(CLUSTER_PATH))
    page.keyboard.press("Tab")
    focused = page.locator(":focus")
    expect(focused).to_have_text("Skip to content")
    expect(focused).to_be_visible()
    outline = focused.evaluate("e => getComputedStyle(e).outlineStyle")
    assert outline == "solid"
    page.keyboard.press("Enter")
    assert page.url.endswith("#main")
    context.close()
