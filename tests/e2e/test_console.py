"""The console on the whole stack, in real Chromium: a person creates a cluster in the console
and watches its Operation, moved by the real workers, progress to done; then, with real Kafka
clients on that cluster, follows a consumer group on its page, is refused a reset while a
consumer is connected, previews and applies one once it left (the worker writes it and the box
turns done), and deletes the group."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import REPO
from tests.e2e.conftest import Stack, wait_for
from tests.integration.console.conftest import CHROMIUM, Console, sign_in
from workers.adapters.kafka_admin import confluent_config

CLUSTER = "console"
TOPIC, RECORDS, COMMITTED = "console.orders", 10, 4
GROUP = "console-app"
USER, PASSWORD = "console-app", "console-app-password-1"
SCREENSHOTS = REPO / ".run" / "console-screenshots"
# A 1+1 cluster on two shared cores: creation takes a minute or two, more under load.
CREATE_MS = 420_000
OPERATION_MS = 120_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Module-scoped: Playwright's sync API holds an event loop in this thread while open.
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make os-deps`")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(stack: Stack, browser: Browser) -> Iterator[tuple[Page, Console]]:
    console = Console(stack.cp.api_url, stack.http, {"admin": os.environ["KPLANE_ADMIN_TOKEN"]})
    context = sign_in(browser, console, "admin", viewport={"width": 1280, "height": 900})
    yield context.new_page(), console
    context.close()


def _watch_done(page: Page, timeout: float) -> None:
    """The Operation box, polled by htmx, until the Operation is done; it must have succeeded."""
    box = page.locator("#operation-box")
    expect(box).to_have_class(re.compile(r"\bdone\b"), timeout=timeout)
    expect(box.locator("strong.good")).to_have_text("✓ done")


def test_create_a_cluster_watch_it_to_done_and_follow_a_consumer_group(
    stack: Stack, project: str, page: tuple[Page, Console]
) -> None:
    browser_page, console = page
    p = browser_page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = f"projects/{project}/clusters/{CLUSTER}"
    p.goto(console.url(f"projects/{project}"))
    form = p.locator("form", has=p.get_by_role("button", name="Create cluster"))
    form.get_by_label("cluster_id").fill(CLUSTER)
    form.get_by_label("broker_count").fill("1")
    form.get_by_label("controller_count").select_option("1")
    form.get_by_label("storage_gib").fill("1")
    form.get_by_label("broker_resources.cpu").fill("0.25")
    form.get_by_label("broker_resources.memory_gib").fill("0.5")
    form.get_by_role("button", name="Create cluster").click()
    p.wait_for_url(re.compile(rf"/console/{path}\?operation="))
    box = p.locator("#operation-box")
    expect(box).to_contain_text("create")
    expect(box).to_contain_text("running")
    try:
        # The box shows the steps the workers report as they go, then done.
        expect(box.locator("table.steps")).to_be_visible(timeout=CREATE_MS)
        p.screenshot(path=SCREENSHOTS / "e2e-cluster-creating-light.png", full_page=True)
        _watch_done(p, CREATE_MS)
        p.screenshot(path=SCREENSHOTS / "e2e-cluster-done-light.png", full_page=True)
        p.reload()
        expect(p.get_by_role("heading", level=1)).to_contain_text("ACTIVE")
        expect(p.locator("#bootstrap-servers")).to_be_visible()

        cluster = stack.ok("GET", f"/v1/{path}")
        config = _client(stack, f"/v1/{path}", cluster["bootstrap_servers"])
        _follow_a_group(p, console, path, config)
    finally:
        op = stack.call("DELETE", f"/v1/{path}")
        if op.status_code == 200:
            stack.wait_op(op.json(), timeout=180)


def _client(stack: Stack, path: str, bootstrap: str) -> dict[str, str | int | float | bool]:
    """A user allowed the topic and the group, and RECORDS records on the topic's partition."""
    stack.wait_op(
        stack.ok("POST", f"{path}/users", params={"user_id": USER}, json={"password": PASSWORD})
    )
    stack.wait_op(
        stack.ok(
            "POST",
            f"{path}/topics",
            params={"topic_id": TOPIC},
            json={"partition_count": 1, "replication_factor": 1},
        )
    )
    for acl_id, ops in (
        (f"topic/{TOPIC}", ["READ", "WRITE", "DESCRIBE"]),
        (f"consumerGroup/{GROUP}", ["READ"]),
    ):
        entries = [{"principal": f"User:{USER}", "operation": o} for o in ops]
        stack.wait_op(
            stack.ok(
                "POST", f"{path}/acls", params={"acl_id": acl_id}, json={"acl_entries": entries}
            )
        )
    config = confluent_config(bootstrap, USER, PASSWORD)
    producer = Producer({**config, "acks": "all", "message.timeout.ms": 60000})
    for i in range(RECORDS):
        producer.produce(TOPIC, str(i).encode(), partition=0)
    assert producer.flush(90) == 0
    return config


def _follow_a_group(
    p: Page, console: Console, path: str, config: dict[str, str | int | float | bool]
) -> None:
    consumer = Consumer(
        {
            **config,
            "group.id": GROUP,
            "client.id": "console-e2e",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([TOPIC])
    seen: list[int] = []

    def consumed() -> bool:
        msg = consumer.poll(0.5)
        if msg is not None and msg.error() is None:
            seen.append(msg.offset() or 0)
        return len(seen) >= COMMITTED

    try:
        wait_for(consumed, 120, f"{COMMITTED} records", interval=0)
        consumer.commit(offsets=[TopicPartition(TOPIC, 0, COMMITTED)], asynchronous=False)
        group_url = console.url(f"{path}/consumer_groups/{GROUP}")
        p.goto(console.url(f"{path}/consumer_groups"))
        # The group page re-reads the brokers every 5 s: the member and the lag show up live.
        p.get_by_role("link", name=GROUP, exact=True).click()
        p.wait_for_url(group_url)
        live = p.locator("#group-live")
        expect(live).to_contain_text("STABLE", timeout=60_000)
        members = p.locator("table", has=p.get_by_role("columnheader", name="client_id"))
        expect(members.locator("tbody tr")).to_have_count(1)
        expect(members.locator("tbody tr")).to_contain_text("console-e2e")
        expect(members.locator("tbody tr")).to_contain_text(f"{TOPIC}/0")
        offsets = p.locator("table", has=p.get_by_text("offsets per topic-partition"))
        expect(offsets.locator("tbody tr").first.locator("td")).to_have_text(
            [TOPIC, "0", str(COMMITTED), str(RECORDS), str(RECORDS - COMMITTED)], timeout=30_000
        )
        p.screenshot(path=SCREENSHOTS / "e2e-consumer-group-live-light.png", full_page=True)
        p.get_by_label("to_earliest", exact=True).check()
        p.get_by_role("button", name="Reset offsets").click()
        expect(p.get_by_role("alert").first).to_contain_text("FAILED_PRECONDITION")
    finally:
        consumer.close()

    # Once the consumer left, the page says EMPTY by itself; the reset is previewed, then applied.
    p.goto(group_url)
    expect(p.locator("#group-live")).to_contain_text("EMPTY", timeout=60_000)
    p.get_by_label("to_earliest", exact=True).check()
    p.get_by_role("button", name="Reset offsets").click()
    preview = p.locator("#reset-preview")
    expect(preview.locator("tbody tr").first.locator("td")).to_have_text(
        [TOPIC, "0", str(COMMITTED), "0"]
    )
    preview.get_by_role("button", name="Apply this reset").click()
    p.wait_for_url(re.compile(r"\?operation="))
    expect(p.locator("#operation-box")).to_contain_text("resetOffsets")
    _watch_done(p, OPERATION_MS)
    p.screenshot(path=SCREENSHOTS / "e2e-consumer-group-reset-light.png", full_page=True)
    offsets = p.locator("table", has=p.get_by_text("offsets per topic-partition"))
    expect(offsets.locator("tbody tr").first.locator("td").nth(2)).to_have_text("0", timeout=30_000)

    p.get_by_role("link", name=f"Delete group {GROUP}").click()
    p.get_by_label("group_id").fill(GROUP)
    p.get_by_role("button", name=f"Delete group {GROUP}").click()
    p.wait_for_url(re.compile(rf"/console/{path}/consumer_groups\?operation="))
    _watch_done(p, OPERATION_MS)
    p.goto(console.url(f"{path}/consumer_groups"))

    def gone() -> bool:  # the list is a plain page (reads are cached ~2 s): reload until gone
        p.reload()
        return p.get_by_role("link", name=GROUP, exact=True).count() == 0

    wait_for(gone, 30, f"{GROUP} gone from the list", interval=1)
