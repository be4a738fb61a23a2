"""What a person does in the console, in real Chromium: sign in, create a topic (a bad config is
explained at its field), grant a producer, read a generated password once, delete a topic after
naming it; and what the console refuses: a viewer's controls and forged posts, missing CSRF."""

from __future__ import annotations

import json
import re
from pathlib import Path

import psycopg
from playwright.sync_api import Browser, Page, expect

from tests.conftest import LiveApi
from tests.integration.console.conftest import CLUSTER, PROJECT, Console, sign_in

CLUSTER_PATH = f"projects/{PROJECT}/clusters/{CLUSTER}"
BLOCKED = "blocked: restarting broker 2 would take orders-3 below min.insync.replicas=2"


def csrf_of(page: Page) -> str:
    headers = page.locator("body").get_attribute("hx-headers") or ""
    match = re.search(r'"X-CSRF-Token": "([^"]+)"', headers)
    assert match, f"no CSRF token on the page: {headers!r}"
    return match.group(1)


def test_sign_in_sets_a_sealed_strict_cookie_and_never_shows_the_token(
    browser: Browser, console: Console
) -> None:
    context = sign_in(browser, console, "editor")
    page = context.new_page()
    (cookie,) = [c for c in context.cookies() if c["name"] == "kplane_console"]
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["expires"] > 0
    assert console.tokens["editor"] not in cookie["value"]
    for path in ("projects", f"projects/{PROJECT}", CLUSTER_PATH, f"{CLUSTER_PATH}/topics"):
        page.goto(console.url(path))
        assert console.tokens["editor"] not in page.content()
        assert page.evaluate("document.cookie") == ""
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/console/signin"))
    assert not [c for c in context.cookies() if c["name"] == "kplane_console"]
    page.goto(console.url(f"{CLUSTER_PATH}/topics"))
    expect(page.get_by_label("token")).to_be_visible()
    context.close()


def test_a_bad_token_is_refused_at_sign_in(browser: Browser, console: Console) -> None:
    page = browser.new_page()
    # A sign-in posted from another site (login CSRF) is refused before the token is looked at.
    forged = page.request.post(
        console.url("signin"),
        form={"token": console.tokens["viewer"]},
        headers={"Origin": "https://evil.example"},
        max_redirects=0,
    )
    assert forged.status == 403
    assert "set-cookie" not in forged.headers
    page.goto(console.url("signin"))
    page.get_by_label("token").fill("kpt_not-a-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("refused this token")
    page.close()


def test_create_topic_shows_the_field_error_then_creates_and_deletes_with_confirmation(
    editor: Page, console: Console
) -> None:
    page = editor
    page.goto(console.url(f"{CLUSTER_PATH}/topics"))
    page.get_by_label("topic_id", exact=True).fill("orders")
    page.get_by_label("partition_count", exact=True).fill("6")
    page.get_by_label("configs.min.insync.replicas", exact=True).fill("0")
    page.get_by_role("button", name="Create topic").click()

    field = page.get_by_label("configs.min.insync.replicas", exact=True)
    expect(field).to_have_attribute("aria-invalid", "true")
    error = page.locator("#topic-configs-min-insync-replicas-error")
    expect(error).to_contain_text("must be at least 1")
    expect(page.get_by_label("topic_id", exact=True)).to_have_value("orders")

    field.fill("2")
    page.get_by_label("configs.cleanup.policy", exact=True).select_option("compact")
    page.get_by_role("button", name="Create topic").click()
    page.wait_for_url(re.compile(rf"/console/{CLUSTER_PATH}/topics/orders\?operation="))
    expect(page.get_by_role("heading", name="topic orders")).to_be_visible()
    expect(page.locator("#operation-box")).to_contain_text("create")
    body = console.api.get(f"/v1/{CLUSTER_PATH}/topics/orders").json()
    assert body["partition_count"] == 6
    assert body["configs"] == {"min.insync.replicas": "2", "cleanup.policy": "compact"}

    # The list links each row to its page at the API's path.
    page.goto(console.url(f"{CLUSTER_PATH}/topics"))
    page.get_by_role("link", name="orders", exact=True).click()
    page.wait_for_url(re.compile(rf"/console/{CLUSTER_PATH}/topics/orders$"))

    page.get_by_role("link", name="Delete topic orders").click()
    expect(page.get_by_role("heading", name="Delete topic orders?")).to_be_visible()
    page.get_by_label("topic_id").fill("order")
    page.get_by_role("button", name="Delete topic orders").click()
    expect(page.get_by_role("alert")).to_contain_text("type the topic's name, orders")
    assert console.api.get(f"/v1/{CLUSTER_PATH}/topics/orders").json()["state"] != "DELETING"
    page.get_by_label("topic_id").fill("orders")
    page.get_by_role("button", name="Delete topic orders").click()
    page.wait_for_url(re.compile(rf"/console/{CLUSTER_PATH}/topics\?operation="))
    expect(page.locator("#operation-box")).to_contain_text("delete")
    after = console.api.get(f"/v1/{CLUSTER_PATH}/topics/orders")
    assert after.status_code == 404 or after.json()["state"] == "DELETING"


def test_topic_edit_configs_and_add_partitions(editor: Page, console: Console) -> None:
    console.api.post(
        f"/v1/{CLUSTER_PATH}/topics", params={"topic_id": "payments"}, json={"partition_count": 2}
    ).raise_for_status()
    page = editor
    page.goto(console.url(f"{CLUSTER_PATH}/topics/payments"))
    page.get_by_label("partition_count", exact=True).fill("4")
    page.get_by_role("button", name="Add partitions").click()
    page.wait_for_url(re.compile(r"/topics/payments\?operation="))
    page.get_by_label("configs.retention.ms", exact=True).fill("3600000")
    page.get_by_role("button", name="Save configs").click()
    page.wait_for_url(re.compile(r"/topics/payments\?operation="))
    body = console.api.get(f"/v1/{CLUSTER_PATH}/topics/payments").json()
    assert body["partition_count"] == 4
    assert body["configs"] == {"retention.ms": "3600000"}


def test_search_by_prefix_and_page_through_topics(editor: Page, console: Console) -> None:
    requests = [{"topic_id": f"logs.{i:03d}", "topic": {"partition_count": 1}} for i in range(60)]
    console.api.post(
        f"/v1/{CLUSTER_PATH}/topics:batchCreate", json={"requests": requests}
    ).raise_for_status()
    page = editor
    page.goto(console.url(f"{CLUSTER_PATH}/topics?name=logs."))
    rows = page.locator("#topic-rows tbody tr")
    expect(rows).to_have_count(50)
    expect(rows.first).to_contain_text("logs.000")
    page.get_by_role("link", name="Next page").click()
    expect(rows).to_have_count(10)
    expect(rows.last).to_contain_text("logs.059")
    # Live search (htmx) narrows the table without a reload.
    page.get_by_label("name", exact=True).fill("logs.05")
    expect(rows).to_have_count(10)
    expect(page.locator("#topic-rows caption")).to_contain_text("starting with logs.05")


def test_acl_producer_preset(editor: Page, console: Console) -> None:
    page = editor
    page.goto(console.url(f"{CLUSTER_PATH}/acls"))
    form = page.locator("form", has=page.get_by_role("button", name="Add preset entries"))
    form.get_by_label("principal").fill("User:billing")
    form.get_by_label("preset").select_option("producer")
    form.get_by_label("pattern_type").select_option("PREFIXED")
    form.get_by_label("resource_name").fill("invoices.")
    form.get_by_role("button", name="Add preset entries").click()
    page.wait_for_url(re.compile(rf"/console/{CLUSTER_PATH}/acls\?operation="))
    group = page.locator("section", has=page.get_by_role("heading", name="User:billing"))
    expect(group.locator("tbody tr")).to_have_count(2)
    expect(group).to_contain_text("WRITE")
    expect(group).to_contain_text("DESCRIBE")
    acl = console.api.get(f"/v1/{CLUSTER_PATH}/acls/topicPrefixed/invoices.").json()
    assert {e["operation"] for e in acl["acl_entries"]} == {"WRITE", "DESCRIBE"}
    group.get_by_role("link", name="topicPrefixed/invoices.").first.click()
    page.wait_for_url(re.compile(rf"/console/{CLUSTER_PATH}/acls/topicPrefixed/invoices\.$"))
    page.go_back()
    group.get_by_role("button", name=re.compile("Remove WRITE")).click()
    page.wait_for_url(re.compile(r"/acls\?operation="))
    expect(group.locator("tbody tr")).to_have_count(1)

    form.get_by_label("principal").fill("User:reader")
    form.get_by_label("preset").select_option("consumer")
    form.get_by_label("pattern_type").select_option("LITERAL")
    form.get_by_label("resource_name").fill("invoices")
    form.get_by_label("consumer_group").fill("reader-app")
    form.get_by_role("button", name="Add preset entries").click()
    page.wait_for_url(re.compile(r"/acls\?operation="))
    reader = page.locator("section", has=page.get_by_role("heading", name="User:reader"))
    expect(reader.locator("tbody tr")).to_have_count(3)
    group_acl = console.api.get(f"/v1/{CLUSTER_PATH}/acls/consumerGroup/reader-app").json()
    assert [e["operation"] for e in group_acl["acl_entries"]] == ["READ"]


def test_a_generated_password_is_shown_once(editor: Page, console: Console) -> None:
    page = editor
    page.goto(console.url(f"{CLUSTER_PATH}/users"))
    page.get_by_label("user_id", exact=True).fill("reporting")
    page.get_by_role("button", name="Create user").click()
    page.wait_for_url(re.compile(rf"/console/{CLUSTER_PATH}/users/reporting\?operation="))
    secret = page.locator("#one-time-secret")
    expect(secret).to_be_visible()
    password = secret.inner_text().strip()
    assert len(password) == 32
    page.reload()
    expect(page.get_by_role("heading", name="user reporting")).to_be_visible()
    expect(page.locator("#one-time-secret")).to_have_count(0)
    assert password not in page.content()
    page.goto(console.url(f"{CLUSTER_PATH}/users"))
    assert password not in page.content()

    page.goto(console.url(f"{CLUSTER_PATH}/users/reporting"))
    page.get_by_role("button", name="Rotate password").click()
    rotated = page.locator("#one-time-secret").inner_text().strip()
    assert len(rotated) == 32
    assert rotated != password


def test_a_viewer_sees_no_mutation_controls_and_a_forged_post_gets_403(
    viewer: Page, console: Console
) -> None:
    page = viewer
    for path in (
        f"projects/{PROJECT}",
        CLUSTER_PATH,
        f"{CLUSTER_PATH}/topics",
        f"{CLUSTER_PATH}/acls",
        f"{CLUSTER_PATH}/users",
        f"projects/{PROJECT}/operations",
    ):
        page.goto(console.url(path))
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        mutating = page.locator("form[method=post]:not([action='/console/signout'])")
        expect(mutating).to_have_count(0)
        expect(page.get_by_role("link", name=re.compile("^Delete"))).to_have_count(0)
    expect(page.get_by_role("link", name="tokens")).to_have_count(0)

    forged = page.request.post(
        console.url(f"{CLUSTER_PATH}/topics"),
        form={"csrf": csrf_of(page), "topic_id": "forged", "partition_count": "1"},
        max_redirects=0,
    )
    assert forged.status == 403
    assert "needs the editor role" in forged.text()
    assert console.api.get(f"/v1/{CLUSTER_PATH}/topics/forged").status_code == 404


def test_a_post_without_the_csrf_token_gets_403(editor: Page, console: Console) -> None:
    page = editor
    page.goto(console.url(f"{CLUSTER_PATH}/topics"))
    forms: list[dict[str, str | float | bool]] = [
        {"topic_id": "no-csrf"},
        {"topic_id": "no-csrf", "csrf": "wrong"},
    ]
    for form in forms:
        answer = page.request.post(console.url(f"{CLUSTER_PATH}/topics"), form=form)
        assert answer.status == 403
        assert "CSRF" in answer.text()
    assert console.api.get(f"/v1/{CLUSTER_PATH}/topics/no-csrf").status_code == 404
    # The same post with the page's token goes through.
    answer = page.request.post(
        console.url(f"{CLUSTER_PATH}/topics"),
        form={"topic_id": "with-csrf", "csrf": csrf_of(page)},
        max_redirects=0,
    )
    assert answer.status == 303


def test_reads_work_without_javascript(browser: Browser, console: Console) -> None:
    context = sign_in(browser, console, "viewer", java_script_enabled=False)
    page = context.new_page()
    page.goto(console.url(f"{CLUSTER_PATH}/topics"))
    page.get_by_label("name", exact=True).fill("logs.01")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"name=logs\.01"))
    expect(page.locator("#topic-rows tbody tr")).to_have_count(10)
    context.close()


def test_the_cluster_page_follows_its_operation_live(
    editor: Page, console: Console, live_api: LiveApi, screenshots: Path
) -> None:
    """No worker runs here, so the test writes the Operation's progress as the roller would."""
    page = editor
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(console.url(CLUSTER_PATH))
    box = page.locator("#operation-box")
    expect(box).to_contain_text("running")
    expect(box).to_contain_text("0%")
    steps = [
        {"name": "namespace", "state": "DONE", "message": ""},
        {"name": "objects", "state": "DONE", "message": ""},
        {"name": "storage", "state": "DONE", "message": ""},
        {"name": "pods", "state": "DONE", "message": ""},
        {"name": "roll", "state": "BLOCKED", "message": BLOCKED},
        {"name": "health", "state": "PENDING", "message": ""},
        {"name": "partitions", "state": "PENDING", "message": ""},
        {"name": "status", "state": "PENDING", "message": ""},
    ]
    url = live_api.database_url.replace("+asyncpg", "")
    with psycopg.connect(url, autocommit=True) as db:
        db.execute(
            "UPDATE operations SET progress_percent = 57, steps = %s::jsonb,"
            " status_message = %s, version = version + 1 WHERE target = %s AND NOT done",
            (json.dumps(steps), "rolling broker 2 of 3", CLUSTER_PATH),
        )
    expect(box).to_contain_text("57%", timeout=10_000)
    expect(box).to_contain_text(BLOCKED)
    page.screenshot(path=screenshots / "cluster-roll-light.png", full_page=True)
    with psycopg.connect(url, autocommit=True) as db:
        db.execute(
            "UPDATE operations SET progress_percent = 100, done = true, end_time = now(),"
            " version = version + 1 WHERE target = %s AND NOT done",
            (CLUSTER_PATH,),
        )
    expect(box).to_contain_text("done", timeout=10_000)
    expect(box).not_to_have_attribute("hx-get", re.compile("."))


def test_an_owner_creates_a_cluster_and_a_token_whose_secret_shows_once(
    browser: Browser, console: Console
) -> None:
    context = sign_in(browser, console, "owner")
    page = context.new_page()
    page.goto(console.url(f"projects/{PROJECT}"))
    form = page.locator("form", has=page.get_by_role("button", name="Create cluster"))
    form.get_by_label("cluster_id").fill("Not_Valid")
    form.get_by_role("button", name="Create cluster").click()
    expect(page.get_by_role("alert").first).to_contain_text("INVALID_ARGUMENT")
    form.get_by_label("cluster_id").fill("analytics")
    form.get_by_label("broker_count").fill("1")
    form.get_by_label("controller_count").select_option("1")
    form.get_by_role("button", name="Create cluster").click()
    page.wait_for_url(re.compile(rf"/console/projects/{PROJECT}/clusters/analytics\?operation="))
    expect(page.locator("#operation-box")).to_contain_text("create")
    assert console.api.get(f"/v1/projects/{PROJECT}/clusters/analytics").json()["broker_count"] == 1

    page.get_by_role("link", name="shop").click()
    page.get_by_role("link", name="operations").click()
    page.get_by_label("done").select_option("false")
    page.get_by_label("verb").fill("create")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("link", name=f"projects/{PROJECT}/clusters/analytics")).to_be_visible()

    page.get_by_role("link", name="tokens").click()
    page.get_by_label("token_id").fill("ci")
    page.get_by_label("role").select_option("viewer")
    page.get_by_role("button", name="Create token").click()
    secret = page.locator("#one-time-secret")
    expect(secret).to_contain_text("kpt_")
    value = secret.inner_text().strip()
    page.reload()
    expect(page.get_by_role("cell", name=f"projects/{PROJECT}/tokens/ci")).to_be_visible()
    expect(page.locator("#one-time-secret")).to_have_count(0)
    assert value not in page.content()
    context.close()


def test_the_admin_sees_every_project(browser: Browser, console: Console) -> None:
    console.api.post("/v1/projects", params={"project_id": "shop-two"}, json={}).raise_for_status()
    context = sign_in(browser, console, "admin")
    page = context.new_page()
    page.goto(console.url("projects"))
    expect(page.get_by_text("signed in as admin")).to_be_visible()
    # The live API is shared with other tests' projects: follow the pages until both show.
    seen: set[str] = set()
    while True:
        for name in (PROJECT, "shop-two"):
            if page.get_by_role("link", name=f"projects/{name}", exact=True).count():
                seen.add(name)
        following = page.get_by_role("link", name="Next page")
        if seen == {PROJECT, "shop-two"} or not following.count():
            break
        following.click()
    assert seen == {PROJECT, "shop-two"}
    page.goto(console.url("projects/shop-two"))
    expect(page.get_by_role("heading", name="clusters of shop-two")).to_be_visible()
    expect(page.get_by_role("button", name="Create cluster")).to_be_visible()
    context.close()


def test_cluster_forms_scale_resize_and_set_the_window(editor: Page, console: Console) -> None:
    console.api.post(
        f"/v1/projects/{PROJECT}/clusters", params={"cluster_id": "ops"}, json={"broker_count": 1}
    ).raise_for_status()
    path = f"projects/{PROJECT}/clusters/ops"
    storage = console.api.get(f"/v1/{path}").json()["storage_gib"]
    page = editor
    page.goto(console.url(path))
    page.get_by_label("broker_count").fill("2")
    page.get_by_role("button", name="Scale").click()
    page.wait_for_url(re.compile(rf"/console/{path}\?operation="))
    page.get_by_label("storage_gib").fill(str(storage + 10))
    page.get_by_role("button", name="Resize storage").click()
    page.wait_for_url(re.compile(rf"/console/{path}\?operation="))
    page.get_by_label("maintenance_window.day_of_week").select_option("TUESDAY")
    page.get_by_label("maintenance_window.start_time").fill("02:30")
    page.get_by_label("maintenance_window.duration_hours").fill("3")
    page.get_by_role("button", name="Save window").click()
    page.wait_for_url(re.compile(rf"/console/{path}\?operation="))
    page.get_by_label("config", exact=True).fill("num.partitions=4\nlog.retention.ms=3600000")
    page.get_by_role("button", name="Save config").click()
    page.wait_for_url(re.compile(rf"/console/{path}\?operation="))
    body = console.api.get(f"/v1/{path}").json()
    assert body["broker_count"] == 2
    assert body["storage_gib"] == storage + 10
    assert body["maintenance_window"] == {
        "day_of_week": "TUESDAY",
        "start_time": "02:30",
        "duration_hours": 3,
    }
    assert body["config"] == {"num.partitions": "4", "log.retention.ms": "3600000"}

    # Storage may only grow: the API's refusal is shown, with its field.
    page.get_by_label("storage_gib").fill(str(storage))
    page.get_by_role("button", name="Resize storage").click()
    expect(page.locator("#storage-storage_gib-error")).to_contain_text("may only grow")
    expect(page.get_by_label("storage_gib")).to_have_attribute("aria-invalid", "true")
    assert console.api.get(f"/v1/{path}").json()["storage_gib"] == storage + 10
    page.get_by_label("config", exact=True).fill("no.such.setting=1")
    page.get_by_role("button", name="Save config").click()
    expect(page.locator("#config-error")).to_contain_text("config.no.such.setting")


def test_user_quotas(editor: Page, console: Console) -> None:
    console.api.post(
        f"/v1/{CLUSTER_PATH}/users", params={"user_id": "quota-user"}, json={}
    ).raise_for_status()
    page = editor
    page.goto(console.url(f"{CLUSTER_PATH}/users/quota-user"))
    page.get_by_label("quotas.producer_byte_rate").fill("1048576")
    page.get_by_role("button", name="Save quotas").click()
    page.wait_for_url(re.compile(r"/users/quota-user\?operation="))
    quotas = console.api.get(f"/v1/{CLUSTER_PATH}/users/quota-user").json()["quotas"]
    assert quotas["producer_byte_rate"] == 1048576
    expect(page.get_by_label("quotas.producer_byte_rate")).to_have_value("1048576")


def test_a_console_action_is_in_the_audit_log_as_the_users_own_call(
    editor: Page, browser: Browser, console: Console
) -> None:
    editor.goto(console.url(f"{CLUSTER_PATH}/topics"))
    editor.get_by_label("topic_id", exact=True).fill("audited")
    editor.get_by_role("button", name="Create topic").click()
    editor.wait_for_url(re.compile(r"/topics/audited\?operation="))
    context = sign_in(browser, console, "owner")
    page = context.new_page()
    page.goto(console.url(f"projects/{PROJECT}/audit_logs"))
    row = page.locator("tr", has=page.get_by_role("link", name=f"{CLUSTER_PATH}/topics/audited"))
    expect(row).to_contain_text("createTopic")
    expect(row).to_contain_text(f"projects/{PROJECT}/tokens/editor")
    context.close()


def test_the_operations_list_follows_running_operations(
    editor: Page, console: Console, live_api: LiveApi
) -> None:
    op = console.api.post(
        f"/v1/{CLUSTER_PATH}/topics", params={"topic_id": "followed"}, json={}
    ).json()
    page = editor
    page.goto(console.url(f"projects/{PROJECT}/operations?done=false"))
    row = page.locator("tr", has=page.get_by_role("link", name=f"{CLUSTER_PATH}/topics/followed"))
    expect(row).to_contain_text("0%")
    with psycopg.connect(live_api.database_url.replace("+asyncpg", ""), autocommit=True) as db:
        db.execute(
            "UPDATE operations SET progress_percent = 30, version = version + 1"
            " WHERE operation_id = %s",
            (op["name"].rsplit("/", 1)[-1],),
        )
    expect(row).to_contain_text("30%", timeout=10_000)
