"""Every resource group's verbs through the real `kplane` executable against a live API (no
workers: Operations stay not done, hence `--no-wait`), each `--output json` compared with the
body the API returns to a direct httpx call."""

from __future__ import annotations

import yaml

from tests.integration.cli.conftest import Api, Kplane


def test_projects(kplane: Kplane, api: Api, project: str) -> None:
    created = kplane.json("projects", "create", f"{project}-x", "--display-name", "X", "-l", "a=b")
    assert created == api.ok("GET", f"/v1/projects/{project}-x")
    assert (created["display_name"], created["labels"]) == ("X", {"a": "b"})
    updated = kplane.json("projects", "update", f"{project}-x", "--display-name", "Y")
    assert updated["display_name"] == "Y" and updated["labels"] == {"a": "b"}
    listed = kplane.json("projects", "list", "--filter", f'name="{project}-x"')
    assert [p["name"] for p in listed["projects"]] == [f"projects/{project}-x"]
    assert kplane.json("projects", "get", f"{project}-x") == updated
    deleted = kplane.json("projects", "delete", f"{project}-x")
    assert deleted["name"] == f"projects/{project}-x"
    assert api.http.get(f"/v1/projects/{project}-x").status_code in {403, 404}


def test_tokens(kplane: Kplane, api: Api, project: str) -> None:
    created = kplane.json("tokens", "create", "ci", "--role", "editor")
    assert created["role"] == "editor" and created["secret"]
    path = f"/v1/projects/{project}/tokens/ci"
    assert kplane.json("tokens", "get", "ci") == api.ok("GET", path)
    table = kplane.ok("tokens", "create", "ci2")
    assert "secret:" in table
    assert kplane.json("tokens", "update", "ci", "--role", "viewer")["role"] == "viewer"
    assert kplane.json("tokens", "list") == api.ok("GET", f"/v1/projects/{project}/tokens")
    kplane.ok("tokens", "delete", "ci")
    assert api.http.get(path).status_code == 404


def test_clusters(kplane: Kplane, api: Api, project: str) -> None:
    op = kplane.json(
        "clusters", "create", "c2", "--broker-count", "3", "--controller-count", "3",
        "--cpu", "0.5", "--memory-gib", "1", "--storage-gib", "5",
        "--config", "auto.create.topics.enable=false", "--maintenance-window", "sunday 02:00 4",
        "--deletion-protection", "-l", "team=data", "--no-wait",
    )  # fmt: skip
    assert op["done"] is False and op["metadata"]["verb"] == "create"
    path = f"/v1/projects/{project}/clusters/c2"
    body = kplane.json("clusters", "get", "c2")
    assert body == api.ok("GET", path)
    assert body["broker_resources"] == {"cpu": 0.5, "memory_gib": 1.0}
    assert body["maintenance_window"] == {
        "day_of_week": "SUNDAY", "start_time": "02:00", "duration_hours": 4
    }  # fmt: skip
    assert yaml.safe_load(kplane.ok("clusters", "get", "c2", "-o", "yaml")) == body
    # Scale through update: only the given field changes; --cpu alone keeps the memory.
    kplane.ok("clusters", "update", "c2", "--broker-count", "5", "--cpu", "1", "--no-wait")
    after = api.ok("GET", path)
    assert after["broker_count"] == 5
    assert after["broker_resources"] == {"cpu": 1.0, "memory_gib": 1.0}
    assert after["storage_gib"] == 5 and after["labels"] == {"team": "data"}
    listed = kplane.json("clusters", "list")
    assert listed == api.ok("GET", f"/v1/projects/{project}/clusters", params={"page_size": 100})
    assert [c["name"].rsplit("/", 1)[1] for c in listed["clusters"]] == ["c2", "main"]
    table = kplane.ok("clusters", "list")
    assert "c2" in table and "CREATING" in table
    # Deletion protection: the API's refusal, exit 1; then lifted, the delete is accepted.
    r = kplane.run("clusters", "delete", "c2", "--no-wait")
    assert r.returncode == 1 and "FAILED_PRECONDITION" in r.stderr, r.stderr
    kplane.ok("clusters", "update", "c2", "--no-deletion-protection", "--no-wait")
    op = kplane.json("clusters", "delete", "c2", "--no-wait")
    assert op["metadata"]["verb"] == "delete"


def test_users_and_client_config(kplane: Kplane, api: Api, project: str) -> None:
    op = kplane.json("users", "create", "app", "-c", "main", "--password", "s3cret-password-1",
                     "--producer-byte-rate", "1048576", "--no-wait")  # fmt: skip
    assert op["password"] == "s3cret-password-1"
    path = f"/v1/projects/{project}/clusters/main/users/app"
    user = kplane.json("users", "get", "app", "-c", "main")
    assert user == api.ok("GET", path)
    assert user["principal"] == "User:app" and user["quotas"]["producer_byte_rate"] == 1048576
    generated = kplane.json("users", "create", "gen", "-c", "main", "--no-wait")
    assert len(generated["password"]) == 32
    kplane.ok("users", "update", "app", "-c", "main", "--consumer-byte-rate", "2048", "--no-wait")
    quotas = api.ok("GET", path)["quotas"]
    assert (quotas["producer_byte_rate"], quotas["consumer_byte_rate"]) == (1048576, 2048)
    rotated = kplane.json("users", "rotate-password", "app", "-c", "main", "--no-wait")
    assert len(rotated["password"]) == 32
    listed = kplane.json("users", "list", "-c", "main")
    assert listed == api.ok("GET", f"/v1/projects/{project}/clusters/main/users")

    props = kplane.ok("clusters", "client-config", "main", "--user", "app", "--password", 'p"w\\x')
    lines = dict(line.split("=", 1) for line in props.splitlines() if not line.startswith("#"))
    cluster = api.ok("GET", f"/v1/projects/{project}/clusters/main")
    assert lines["bootstrap.servers"] == cluster["bootstrap_servers"]
    assert lines["security.protocol"] == "SASL_PLAINTEXT"
    assert lines["sasl.mechanism"] == "SCRAM-SHA-512"
    assert lines["sasl.jaas.config"] == (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        'username="app" password="p\\\\"w\\\\\\\\x";'
    )
    rdkafka = kplane.ok("clusters", "client-config", "main", "-u", "app", "--format", "librdkafka",
                        input="from-stdin\n")  # fmt: skip
    assert "sasl.username=app" in rdkafka and "sasl.password=from-stdin" in rdkafka
    r = kplane.run("clusters", "client-config", "main", "--user", "ghost", "--password", "x")
    assert r.returncode == 1 and "404 NOT_FOUND" in r.stderr

    kplane.ok("users", "delete", "gen", "-c", "main", "--no-wait")
    assert api.ok("GET", f"{path[:-4]}/gen")["state"] == "DELETING"


def test_acls(kplane: Kplane, api: Api, project: str) -> None:
    base = f"/v1/projects/{project}/clusters/main/acls"
    op = kplane.json("acls", "create", "topic/orders", "-c", "main", "-e", "User:app:READ",
                     "-e", "User:app:WRITE:DENY:10.0.0.1", "--no-wait")  # fmt: skip
    assert op["metadata"]["verb"] == "create"
    acl = kplane.json("acls", "get", "topic/orders", "-c", "main")
    assert acl == api.ok("GET", f"{base}/topic/orders")
    assert acl["acl_entries"] == [
        {"principal": "User:app", "permission_type": "ALLOW", "operation": "READ", "host": "*"},
        {"principal": "User:app", "permission_type": "DENY", "operation": "WRITE",
         "host": "10.0.0.1"},
    ]  # fmt: skip
    kplane.ok("acls", "add-entry", "topic/orders", "-c", "main", "--principal", "User:ops",
              "--operation", "DESCRIBE", "--no-wait")  # fmt: skip
    entries = api.ok("GET", f"{base}/topic/orders")["acl_entries"]
    assert {"principal": "User:ops", "permission_type": "ALLOW", "operation": "DESCRIBE",
            "host": "*"} in entries  # fmt: skip
    # :addAclEntry creates a missing ACL; removing its last entry deletes it.
    kplane.ok("acls", "add-entry", "cluster", "-c", "main", "--principal", "User:ops",
              "--operation", "DESCRIBE", "--no-wait")  # fmt: skip
    assert api.ok("GET", f"{base}/cluster")["acl_entries"][0]["principal"] == "User:ops"
    kplane.ok("acls", "remove-entry", "cluster", "-c", "main", "--principal", "User:ops",
              "--operation", "DESCRIBE", "--no-wait")  # fmt: skip
    assert api.ok("GET", f"{base}/cluster")["state"] == "DELETING"
    kplane.ok("acls", "update", "topic/orders", "-c", "main", "-e", "User:app:ALL", "--no-wait")
    assert [e["operation"] for e in api.ok("GET", f"{base}/topic/orders")["acl_entries"]] == ["ALL"]
    assert kplane.json("acls", "list", "-c", "main") == api.ok("GET", base)
    assert "ALLOW User:app ALL" in kplane.ok("acls", "list", "-c", "main")
    kplane.ok("acls", "delete", "topic/orders", "-c", "main", "--no-wait")
    assert api.ok("GET", f"{base}/topic/orders")["state"] == "DELETING"


def test_operations_audit_logs_and_kafka_versions(kplane: Kplane, api: Api, project: str) -> None:
    op = kplane.json("topics", "create", "t", "-c", "main", "--no-wait")
    assert kplane.json("operations", "get", op["name"]) == api.ok("GET", f"/v1/{op['name']}")
    short = op["name"].rsplit("/", 1)[1]
    assert kplane.json("operations", "get", short)["name"] == op["name"]
    listed = kplane.json("operations", "list")
    assert listed == api.ok("GET", f"/v1/projects/{project}/operations", params={"page_size": 100})
    assert op["name"] in [o["name"] for o in listed["operations"]]
    # Nothing works the Operation here, so waiting gives up at its timeout: exit 1, with how
    # to follow it later.
    r = kplane.run("operations", "wait", op["name"], "--timeout", "2")
    assert r.returncode == 1
    assert f"kplane operations wait {op['name']}" in r.stderr
    cancelled = kplane.json("operations", "cancel", op["name"])
    assert cancelled["metadata"]["cancel_requested"] is True
    audit = kplane.json("audit-logs", "list", "--limit", "3")
    assert len(audit["audit_logs"]) == 3
    direct = api.ok("GET", f"/v1/projects/{project}/audit_logs", params={"page_size": 3})
    assert audit == direct
    versions = kplane.json("kafka-versions", "list")
    assert versions == api.ok("GET", "/v1/kafka_versions")
    assert any(
        v["version"] in kplane.ok("kafka-versions", "list") for v in versions["kafka_versions"]
    )


def test_list_pages_follow_next_page_token(kplane: Kplane, api: Api, project: str) -> None:
    kplane.ok("topics", "batch-create", *[f"t{i:02d}" for i in range(7)], "-c", "main",
              "--no-wait")  # fmt: skip
    base = f"/v1/projects/{project}/clusters/main/topics"
    every = kplane.json("topics", "list", "-c", "main", "--page-size", "2")
    assert every == api.ok("GET", base, params={"page_size": 100})
    assert len(every["topics"]) == 7 and every["next_page_token"] == ""
    first = kplane.json("topics", "list", "-c", "main", "--page-size", "3", "--one-page")
    assert first == api.ok("GET", base, params={"page_size": 3})
    limited = kplane.json("topics", "list", "-c", "main", "--page-size", "2", "--limit", "5")
    assert [t["name"] for t in limited["topics"]] == [t["name"] for t in every["topics"][:5]]
    rest = kplane.json("topics", "list", "-c", "main", "--page-token", limited["next_page_token"])
    assert [t["name"] for t in rest["topics"]] == [t["name"] for t in every["topics"][5:]]
