"""Pure parts of the CLI: the client properties file, ACL entry flags, what the progress bar
shows of an Operation, retry delays, and the 0600 config file."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx
import pytest
import typer

from cli import config
from cli.client import ApiError, retry_delay
from cli.client_properties import Dialect, render
from cli.commands.acls import parse_entry
from cli.waiting import Status, status_of


def test_java_properties_quote_the_jaas_password() -> None:
    text = render("projects/p/clusters/c", "10.0.0.1:9092", "app", 'a"b\\c', Dialect.JAVA)
    lines = text.splitlines()
    assert "bootstrap.servers=10.0.0.1:9092" in lines
    assert "security.protocol=SASL_PLAINTEXT" in lines
    assert "sasl.mechanism=SCRAM-SHA-512" in lines
    # JAAS escapes \ and "; the properties loader then needs every \ doubled once more.
    jaas = next(line for line in lines if line.startswith("sasl.jaas.config="))
    assert jaas.endswith('username="app" password="a\\\\"b\\\\\\\\c";')
    assert "# sasl.username=app" in lines


def test_librdkafka_properties() -> None:
    text = render("projects/p/clusters/c", "h:1", "app", "pw", Dialect.LIBRDKAFKA)
    assert text.splitlines()[1:] == [
        "bootstrap.servers=h:1",
        "security.protocol=SASL_PLAINTEXT",
        "sasl.mechanisms=SCRAM-SHA-512",
        "sasl.username=app",
        "sasl.password=pw",
    ]


@pytest.mark.parametrize(
    ("spec", "entry"),
    [
        ("User:a:READ", ("User:a", "READ", "ALLOW", "*")),
        ("User:a:write:deny", ("User:a", "WRITE", "DENY", "*")),
        ("User:*:ALL:ALLOW:10.0.0.1", ("User:*", "ALL", "ALLOW", "10.0.0.1")),
        ("User:a:READ:ALLOW:fe80::1", ("User:a", "READ", "ALLOW", "fe80::1")),
    ],
)
def test_parse_entry(spec: str, entry: tuple[str, str, str, str]) -> None:
    got = parse_entry(spec)
    assert (got["principal"], got["operation"], got["permission_type"], got["host"]) == entry


@pytest.mark.parametrize("spec", ["User:a", "User:a:FLY", "User:a:READ:MAYBE", "::READ"])
def test_parse_entry_refuses(spec: str) -> None:
    with pytest.raises(typer.BadParameter):
        parse_entry(spec)


def op(done: bool = False, **meta: object) -> dict[str, object]:
    return {"name": "projects/p/operations/o", "done": done,
            "metadata": {"verb": "update", "target": "projects/p/clusters/c", **meta}}  # fmt: skip


def test_status_names_the_running_step_and_a_blocked_one_with_its_reason() -> None:
    steps = [
        {"name": "pods", "state": "DONE", "message": ""},
        {"name": "roll", "state": "RUNNING", "message": "broker 1 of 3"},
    ]
    assert status_of(op(progress_percent=40, steps=steps)) == Status(
        40, "update projects/p/clusters/c", "roll: broker 1 of 3"
    )
    steps[1] = {"name": "roll", "state": "BLOCKED", "message": "min.insync.replicas of t-0"}
    assert status_of(op(progress_percent=50, steps=steps)).step == (
        "blocked: min.insync.replicas of t-0"
    )
    blocked_quietly = [{"name": "roll", "state": "BLOCKED", "message": ""}]
    assert status_of(op(steps=blocked_quietly, status_message="waiting for broker 2")).step == (
        "blocked: waiting for broker 2"
    )
    assert status_of(op(done=True, progress_percent=100)).step == "done"


def test_retry_delay_honours_retry_after_within_bounds() -> None:
    def response(value: str) -> httpx.Response:
        return httpx.Response(503, headers={"Retry-After": value})

    assert retry_delay(response("3"), 1) == 3.0
    assert retry_delay(response("3600"), 1) == 30.0
    assert retry_delay(response("Wed, 21 Oct 2015 07:28:00 GMT"), 2) == 2.0
    assert retry_delay(None, 1) == 1.0


def test_error_body_gives_status_reason_message_and_violations() -> None:
    violation = {"field": "topic_id", "description": "too long"}
    details = [
        {"@type": "ErrorInfo", "reason": "TOPIC_INVALID"},
        {"@type": "BadRequest", "field_violations": [violation]},
    ]
    body = {
        "error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "bad", "details": details}
    }
    e = ApiError.from_body(400, body, "fallback")
    assert (e.status, e.reason, e.message) == ("INVALID_ARGUMENT", "TOPIC_INVALID", "bad")
    assert [(v.field, v.description) for v in e.violations] == [("topic_id", "too long")]
    assert ApiError.from_body(502, "<html>", "Bad Gateway").message == "Bad Gateway"


def test_config_is_saved_0600_and_environment_overrides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "kplane" / "config.yaml"
    cfg = config.Config("prod", {"prod": config.Context("http://a", "t1", "p1")})
    config.save(cfg, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert config.load(path) == cfg
    for name in ("KPLANE_CONTEXT", "KPLANE_ENDPOINT", "KPLANE_TOKEN", "KPLANE_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    assert config.resolve(cfg) == config.Resolved("prod", "http://a", "t1", "p1")
    monkeypatch.setenv("KPLANE_PROJECT", "p2")
    assert config.resolve(cfg).project == "p2"
    monkeypatch.setenv("KPLANE_CONTEXT", "nope")
    with pytest.raises(config.ConfigError, match="no context 'nope'"):
        config.resolve(cfg)
