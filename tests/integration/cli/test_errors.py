"""Exit codes a script branches on: 0 ok, 1 an API error (status, reason and message of the
error body printed), 2 a usage error; and the CLI's own retries of 503 keep one
Idempotency-Key, honouring Retry-After."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.integration.cli.conftest import Kplane


def test_not_found_exits_1_with_status_reason_and_message(kplane: Kplane, project: str) -> None:
    r = kplane.run("topics", "get", "nope", "-c", "main")
    assert r.returncode == 1
    assert r.stdout == ""
    assert "404 NOT_FOUND" in r.stderr and "nope" in r.stderr


def test_invalid_argument_prints_the_field_violations(kplane: Kplane) -> None:
    r = kplane.run("topics", "create", "bad name!", "-c", "main", "--no-wait")
    assert r.returncode == 1
    assert "400 INVALID_ARGUMENT" in r.stderr
    assert "topic_id" in r.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["topics", "create", "x"],  # --cluster missing
        ["topics", "list", "-c", "main", "--output", "xml"],
        ["clusters", "update", "main"],  # nothing to update
        ["topics", "create", "x", "-c", "main", "--label", "novalue"],
        ["no-such-command"],
    ],
)
def test_usage_errors_exit_2(kplane: Kplane, args: list[str]) -> None:
    r = kplane.run(*args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stderr.strip()


class Flaky(BaseHTTPRequestHandler):
    """An HTTP endpoint that answers 503 (Retry-After: 0) twice, then an Operation."""

    calls: list[tuple[str, str | None]] = []

    def do_POST(self) -> None:
        self.calls.append((self.path, self.headers.get("Idempotency-Key")))
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body: dict[str, object]
        if len(self.calls) <= 2:
            status = 503
            body = {"error": {"code": 503, "status": "UNAVAILABLE", "message": "x"}}
        else:
            status = 200
            body = {"name": "projects/p/operations/o", "done": False, "metadata": {"verb": "x"}}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if status == 503:
            self.send_header("Retry-After", "0")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def flaky() -> Iterator[str]:
    Flaky.calls = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Flaky)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_retries_of_503_reuse_one_idempotency_key(kplane: Kplane, flaky: str) -> None:
    r = kplane.run(
        "topics",
        "create",
        "t",
        "-c",
        "c",
        "-p",
        "p",
        "--no-wait",
        "-o",
        "json",
        env={"KPLANE_ENDPOINT": flaky},
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["name"] == "projects/p/operations/o"
    paths = {path for path, _ in Flaky.calls}
    keys = {key for _, key in Flaky.calls}
    assert len(Flaky.calls) == 3
    assert paths == {"/v1/projects/p/clusters/c/topics?topic_id=t"}
    assert len(keys) == 1 and None not in keys


def test_consumer_groups_of_a_cluster_without_brokers_is_an_api_error(kplane: Kplane) -> None:
    r = kplane.run("consumer-groups", "list", "-c", "main")
    assert r.returncode == 1
    assert "FAILED_PRECONDITION (CLUSTER_NOT_READY)" in r.stderr
    assert "has no running brokers yet" in r.stderr


def test_reset_offsets_takes_exactly_one_target(kplane: Kplane) -> None:
    r = kplane.run("consumer-groups", "reset-offsets", "g", "-c", "main", "--to-earliest",
                   "--to-latest")  # fmt: skip
    assert r.returncode == 2
    assert "exactly one of" in r.stderr
