"""The consumer groups pages in real Chromium, against real groups on a real one-node Kafka
cluster: the live API's cluster `groups` is given that cluster's address as its recorded status
(as the cluster reconciler records it) and the Kafka cluster the admin password the API derives
from the cluster's uid. A connected consumer keeps one group STABLE; others committed and left
(EMPTY). No worker runs, so a reset's or a deletion's Operation stays running here (the worker's
side is tested in tests/integration/workers and tests/e2e)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic
from playwright.sync_api import Browser, Page, expect

from app.core.secrets import ADMIN_USERNAME, admin_password
from app.core.settings import get_settings
from devstack import kafka_dist
from devstack.kafka import LocalKafkaCluster
from devstack.proc import free_port, wait_until
from tests.conftest import LiveApi
from tests.integration.console.conftest import PROJECT, Console, sign_in
from tests.integration.console.test_journeys import csrf_of
from tests.integration.console.test_pages import AXE_RUN

CLUSTER = "groups"
PATH = f"projects/{PROJECT}/clusters/{CLUSTER}"
GROUPS = f"{PATH}/consumer_groups"
TOPIC, PARTITIONS, PER_PARTITION = "cg.orders", 3, 10
LIVE, IDLE, DOOMED = "cg-live", "cg-idle", "cg-doomed"


@dataclass(frozen=True)
class Groups:
    """The Kafka cluster behind `groups`, and what each group committed."""

    kafka: LocalKafkaCluster
    committed: dict[str, dict[int, int]]


def _record_status(live_api: LiveApi, cluster: str, bootstrap: str) -> None:
    """The status the cluster reconciler records once the brokers run (no worker runs here)."""
    with psycopg.connect(live_api.database_url.replace("+asyncpg", ""), autocommit=True) as db:
        db.execute(
            "INSERT INTO resource_status (resource_uid, kind, cluster_uid, observed_generation,"
            " state, conditions, data, version, update_time)"
            " SELECT uid, 'cluster', uid, 1, 'ACTIVE', '[]'::jsonb, %s::jsonb, 1, now()"
            " FROM clusters WHERE project_id = %s AND cluster_id = %s"
            " ON CONFLICT (resource_uid) DO UPDATE SET data = EXCLUDED.data",
            (json.dumps({"bootstrap_servers": bootstrap}), PROJECT, cluster),
        )


def _commit_and_stay(config: dict[str, Any], group: str, records: int) -> Consumer:
    """A member of `group` that consumed `records` records and committed exactly them."""
    consumer = Consumer(
        {
            **config,
            "group.id": group,
            "client.id": f"{group}-client",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([TOPIC])
    seen: list[tuple[int, int]] = []

    def consumed() -> bool:
        msg = consumer.poll(0.5)
        if msg is not None and msg.error() is None:
            seen.append((msg.partition() or 0, msg.offset() or 0))
        return len(seen) >= records

    wait_until(consumed, 90, f"{records} records for {group}", interval=0)
    committed = {p: 0 for p in range(PARTITIONS)}
    for partition, offset in seen[:records]:
        committed[partition] = max(committed[partition], offset + 1)
    consumer.commit(
        offsets=[TopicPartition(TOPIC, p, o) for p, o in committed.items()], asynchronous=False
    )
    return consumer


@pytest.fixture(scope="module")
def groups(console: Console, live_api: LiveApi) -> Iterator[Groups]:
    op = console.api.post(
        f"/v1/projects/{PROJECT}/clusters", params={"cluster_id": CLUSTER}, json={"broker_count": 1}
    )
    op.raise_for_status()
    uid = uuid.UUID(console.api.get(f"/v1/{PATH}").json()["uid"])
    kafka_dist.ensure(kafka_dist.default_version())
    with LocalKafkaCluster(
        brokers=1,
        name="console",
        admin_username=ADMIN_USERNAME,
        admin_password=admin_password(get_settings().credential_key, uid),
        memory_mib=512,
        jvm_profile="small",
    ) as kafka:
        _record_status(live_api, CLUSTER, kafka.bootstrap_servers)
        config = kafka.admin_config()
        admin = AdminClient(config)
        for future in admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1)]).values():
            future.result(60)
        producer = Producer({**config, "acks": "all"})
        for partition in range(PARTITIONS):
            for i in range(PER_PARTITION):
                producer.produce(TOPIC, f"{partition}-{i}".encode(), partition=partition)
        assert producer.flush(60) == 0
        committed: dict[str, dict[int, int]] = {}
        live = _commit_and_stay(config, LIVE, 12)
        for group, records in ((IDLE, 21), (DOOMED, 30)):
            leaving = _commit_and_stay(config, group, records)
            leaving.close()
        for group in (LIVE, IDLE, DOOMED):
            offsets = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])
            result = offsets[group].result(30)
            committed[group] = {tp.partition: tp.offset for tp in result.topic_partitions}
        _write_lag_samples(live_api, uid, IDLE)
        try:
            yield Groups(kafka, committed)
        finally:
            live.close()


def _write_lag_samples(live_api: LiveApi, uid: uuid.UUID, group: str) -> None:
    """The sampler's rows (workers.tasks sample_lag) for the last 50 minutes, every 5."""
    now = datetime.now(UTC)
    rows = [
        (uid, group, now - timedelta(minutes=50 - 5 * i), 30 - 2 * i, 10 - i) for i in range(10)
    ]
    url = live_api.database_url.replace("+asyncpg", "")
    with psycopg.connect(url, autocommit=True) as db, db.cursor() as cur:
        cur.executemany(
            "INSERT INTO consumer_group_lag_samples (cluster_uid, group_id, time, total_lag,"
            " max_lag) VALUES (%s, %s, %s, %s, %s)",
            rows,
        )


def _lag(groups: Groups, group: str) -> int:
    return sum(PER_PARTITION - o for o in groups.committed[group].values())


def test_the_list_shows_every_group_with_its_lag_and_filters_on_the_server(
    editor: Page, console: Console, groups: Groups
) -> None:
    page = editor
    page.goto(console.url(f"{PATH}"))
    page.get_by_role("link", name="consumer groups").click()
    page.wait_for_url(re.compile(rf"/console/{GROUPS}$"))
    rows = page.locator("#group-rows tbody tr")
    expect(rows).to_have_count(3)
    live = page.locator("tr", has=page.get_by_role("link", name=LIVE, exact=True))
    expect(live).to_contain_text("STABLE")
    expect(live.locator("td").nth(4)).to_have_text(str(_lag(groups, LIVE)))
    idle = page.locator("tr", has=page.get_by_role("link", name=IDLE, exact=True))
    expect(idle).to_contain_text("EMPTY")
    expect(idle.locator("td").nth(4)).to_have_text(str(_lag(groups, IDLE)))

    # Live search (htmx) by prefix, then the state filter, both answered by the API's filter.
    page.get_by_label("name", exact=True).fill("cg-d")
    expect(rows).to_have_count(1)
    expect(page.locator("#group-rows caption")).to_contain_text("starting with cg-d")
    page.get_by_label("name", exact=True).fill("")
    page.get_by_label("state", exact=True).select_option("STABLE")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(LIVE)

    page.goto(console.url(f"{GROUPS}?name=cg-"))
    page.get_by_role("link", name=LIVE, exact=True).click()
    page.wait_for_url(re.compile(rf"/console/{GROUPS}/{LIVE}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"consumer group {LIVE}")


def test_the_group_page_shows_members_offsets_and_refreshes_live(
    editor: Page, console: Console, groups: Groups
) -> None:
    page = editor
    page.goto(console.url(f"{GROUPS}/{LIVE}"))
    live = page.locator("#group-live")
    expect(live).to_contain_text("STABLE")
    member = page.locator("tr", has=page.get_by_text(f"{LIVE}-client"))
    expect(member).to_have_count(1)
    for p in range(PARTITIONS):
        expect(member).to_contain_text(f"{TOPIC}/{p}")
    offsets = page.locator("table", has=page.get_by_text("offsets per topic-partition"))
    for p, committed in groups.committed[LIVE].items():
        row = offsets.locator("tbody tr").nth(p)
        expect(row.locator("td")).to_have_text(
            [TOPIC, str(p), str(committed), str(PER_PARTITION), str(PER_PARTITION - committed)]
        )
    expect(page.get_by_text("No lag samples")).to_be_visible()
    # htmx polls the live part: the observation time moves on without a reload.
    observed = live.locator("dd time").first
    first = observed.inner_text()
    expect(observed).not_to_have_text(first, timeout=20_000)

    page.goto(console.url(f"{GROUPS}/{IDLE}"))
    chart = page.locator("svg.lag-chart")
    expect(chart).to_be_visible()
    expect(chart.locator("polyline")).to_have_count(2)
    expect(page.locator("#lag-desc")).to_contain_text("10 samples")
    expect(page.locator("#lag-desc")).to_contain_text("latest total_lag 12, max_lag 1")


def test_a_reset_is_previewed_then_applied_and_refused_while_members_are_connected(
    editor: Page, console: Console, groups: Groups
) -> None:
    page = editor
    page.goto(console.url(f"{GROUPS}/{LIVE}"))
    page.get_by_label("to_earliest", exact=True).check()
    page.get_by_role("button", name="Reset offsets").click()
    expect(page.get_by_role("alert").first).to_contain_text("FAILED_PRECONDITION")
    expect(page.get_by_role("alert").first).to_contain_text("not EMPTY: stop its consumers first")

    page.goto(console.url(f"{GROUPS}/{IDLE}"))
    # Two targets: the API names the field, shown at its input.
    page.get_by_label("to_earliest", exact=True).check()
    page.get_by_label("shift_by", exact=True).fill("-2")
    page.get_by_role("button", name="Reset offsets").click()
    expect(page.get_by_label("shift_by", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#reset-shift_by-error")).to_contain_text("exactly one of")

    page.get_by_label("shift_by", exact=True).fill("")
    page.get_by_label("to_earliest", exact=True).uncheck()
    page.get_by_label("to_offset", exact=True).fill("1")
    page.get_by_label("topics", exact=True).fill(f"{TOPIC}:0,2")
    expect(page.get_by_label("validate_only", exact=True)).to_be_checked()
    page.get_by_role("button", name="Reset offsets").click()
    preview = page.locator("#reset-preview")
    expect(preview).to_contain_text("nothing changed yet")
    before = groups.committed[IDLE]
    expect(preview.locator("tbody tr")).to_have_count(2)
    for i, p in enumerate((0, 2)):
        expect(preview.locator("tbody tr").nth(i).locator("td")).to_have_text(
            [TOPIC, str(p), str(before[p]), "1"]
        )
    body = console.api.get(f"/v1/{GROUPS}/{IDLE}").json()
    assert {o["partition"]: o["committed_offset"] for o in body["offsets"]} == before

    preview.get_by_role("button", name="Apply this reset").click()
    page.wait_for_url(re.compile(rf"/console/{GROUPS}/{IDLE}\?operation="))
    box = page.locator("#operation-box")
    expect(box).to_contain_text("resetOffsets")
    expect(box).to_contain_text("running")
    expect(box).to_have_attribute("hx-get", re.compile("/progress"))
    ops = console.api.get(
        f"/v1/projects/{PROJECT}/operations", params={"filter": f'target = "{GROUPS}/{IDLE}"'}
    ).json()["operations"]
    assert [o["metadata"]["verb"] for o in ops] == ["resetOffsets"]


def test_delete_asks_for_the_groups_name(editor: Page, console: Console, groups: Groups) -> None:
    page = editor
    page.goto(console.url(f"{GROUPS}/{DOOMED}"))
    page.get_by_role("link", name=f"Delete group {DOOMED}").click()
    expect(page.get_by_role("heading", name=f"Delete consumer group {DOOMED}?")).to_be_visible()
    page.get_by_label("group_id").fill("cg-doom")
    page.get_by_role("button", name=f"Delete group {DOOMED}").click()
    expect(page.locator("#delete-group_id-error")).to_contain_text(f"type {DOOMED}")
    page.get_by_label("group_id").fill(DOOMED)
    page.get_by_role("button", name=f"Delete group {DOOMED}").click()
    page.wait_for_url(re.compile(rf"/console/{GROUPS}\?operation="))
    expect(page.locator("#operation-box")).to_contain_text("delete")

    # A group with a member: the API's refusal is shown on the confirmation page.
    page.goto(console.url(f"{GROUPS}/{LIVE}/delete"))
    page.get_by_label("group_id").fill(LIVE)
    page.get_by_role("button", name=f"Delete group {LIVE}").click()
    expect(page.get_by_role("alert")).to_contain_text("FAILED_PRECONDITION")


def test_a_viewer_sees_no_group_controls_and_a_forged_reset_gets_403(
    viewer: Page, console: Console, groups: Groups
) -> None:
    page = viewer
    for path in (GROUPS, f"{GROUPS}/{IDLE}"):
        page.goto(console.url(path))
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        expect(page.locator("form[method=post]:not([action='/console/signout'])")).to_have_count(0)
        expect(page.get_by_role("link", name=re.compile("^Delete"))).to_have_count(0)
    for url, form in (
        (f"{GROUPS}/{IDLE}/reset", {"to_latest": "true"}),
        (f"{GROUPS}/{IDLE}/delete", {"group_id": IDLE}),
    ):
        forged = page.request.post(
            console.url(url), form={"csrf": csrf_of(page), **form}, max_redirects=0
        )
        assert forged.status == 403
        assert "needs the editor role" in forged.text()


def test_a_cluster_without_brokers_or_with_silent_ones_is_said_not_a_500(
    editor: Page, console: Console, live_api: LiveApi
) -> None:
    main = f"projects/{PROJECT}/clusters/main/consumer_groups"
    response = editor.goto(console.url(main))
    assert response is not None and response.status == 400
    expect(editor.get_by_role("alert")).to_contain_text("has no running brokers yet")
    expect(editor.get_by_role("link", name="consumer groups")).to_have_attribute(
        "aria-current", "page"
    )

    console.api.post(
        f"/v1/projects/{PROJECT}/clusters", params={"cluster_id": "silent"}, json={}
    ).raise_for_status()
    _record_status(live_api, "silent", f"127.0.0.1:{free_port()}")  # nothing listens there
    response = editor.goto(console.url(f"projects/{PROJECT}/clusters/silent/consumer_groups"))
    assert response is not None and response.status == 503
    expect(editor.get_by_role("alert")).to_contain_text("UNAVAILABLE")


def test_paging_follows_the_apis_page_token(editor: Page, console: Console, groups: Groups) -> None:
    """55 more EMPTY groups (offsets committed by the admin client): 50 a page, then the rest."""
    admin = AdminClient(groups.kafka.admin_config())
    for i in range(55):
        request = ConsumerGroupTopicPartitions(f"cg-page-{i:02d}", [TopicPartition(TOPIC, 0, 1)])
        admin.alter_consumer_group_offsets([request])[request.group_id].result(30)
    page = editor
    page.goto(console.url(f"{GROUPS}?name=cg-page-"))
    rows = page.locator("#group-rows tbody tr")
    expect(rows).to_have_count(50)
    expect(rows.first).to_contain_text("cg-page-00")
    page.get_by_role("link", name="Next page").click()
    page.wait_for_url(re.compile(r"page_token="))
    expect(rows).to_have_count(5)
    expect(rows.last).to_contain_text("cg-page-54")
    expect(page.get_by_role("link", name="Next page")).to_have_count(0)
    page.get_by_role("link", name="First page").click()
    expect(rows).to_have_count(50)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_group_pages_render_and_pass_axe(
    browser: Browser, console: Console, groups: Groups, scheme: str, screenshots: Path
) -> None:
    context = sign_in(
        browser, console, "owner", color_scheme=scheme, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    failures: list[str] = []
    shots = {
        "consumer-groups": GROUPS,
        "consumer-group": f"{GROUPS}/{IDLE}",
        "consumer-group-live": f"{GROUPS}/{LIVE}",
        "consumer-group-delete": f"{GROUPS}/{IDLE}/delete",
    }
    for name, path in shots.items():
        response = page.goto(console.url(path))
        assert response is not None and response.status == 200, f"{name}: {response}"
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        _screenshot_and_axe(page, screenshots / f"{name}-{scheme}.png", name, failures)
    # The preview table, as a person sees it before applying.
    page.goto(console.url(f"{GROUPS}/{IDLE}"))
    page.get_by_label("to_latest", exact=True).check()
    page.get_by_role("button", name="Reset offsets").click()
    expect(page.locator("#reset-preview")).to_be_visible()
    _screenshot_and_axe(
        page, screenshots / f"consumer-group-preview-{scheme}.png", "preview", failures
    )
    context.close()
    assert not failures, "\n".join(failures)


def _screenshot_and_axe(page: Page, path: Path, name: str, failures: list[str]) -> None:
    page.screenshot(path=path, full_page=True)
    page.add_script_tag(url="/console/static/axe.min.js")
    for violation in page.evaluate(AXE_RUN):
        if violation["impact"] in ("serious", "critical"):
            failures.append(f"{name}: {violation}")
