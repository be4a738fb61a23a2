"""broker/kafka-ready, the readiness probe of kplane's broker pods: ready only when the node
answers an ApiVersions request, so a frozen JVM (SIGSTOP) is not ready although the kernel
still accepts its TCP connections; a listener that accepts and stays silent, closes, or
answers with something other than Kafka's reply is not ready either.
"""

from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from devstack import kafka_dist
from devstack.kafka import CLIENT_PORT, CONTROLLER_PORT, LocalKafkaCluster, wait_for

PROBE = kafka_dist.BROKER_DIR / "kafka-ready"


@dataclass
class Probe:
    returncode: int
    stderr: str
    seconds: float


def probe(*args: str, timeout: float = 10.0) -> Probe:
    started = time.monotonic()
    done = subprocess.run(
        [str(PROBE), *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    return Probe(done.returncode, done.stderr.strip(), time.monotonic() - started)


@dataclass
class FakeListener:
    """A loopback TCP listener whose reply to each connection `respond` decides."""

    respond: Callable[[socket.socket], None]
    server: socket.socket = field(init=False)
    requests: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def port(self) -> str:
        return str(self.server.getsockname()[1])

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                self.respond(conn)

    def read_request(self, conn: socket.socket) -> bytes:
        conn.settimeout(5)
        size = struct.unpack(">i", recv_exactly(conn, 4))[0]
        request = recv_exactly(conn, size)
        self.requests.append(request)
        return request


def recv_exactly(conn: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise ConnectionError("peer closed")
        data += chunk
    return data


@pytest.fixture
def listeners() -> Iterator[list[FakeListener]]:
    made: list[FakeListener] = []
    yield made
    for listener in made:
        listener.server.close()


def test_a_kafka_shaped_reply_is_ready_and_the_request_is_api_versions_v0(
    listeners: list[FakeListener],
) -> None:
    def answer(conn: socket.socket) -> None:
        request = fake.read_request(conn)
        correlation = request[4:8]
        # size, correlation id, error code 0, an empty api_keys array
        conn.sendall(struct.pack(">i", 10) + correlation + b"\x00\x00" + b"\x00" * 4)

    fake = FakeListener(answer)
    listeners.append(fake)
    first, second = probe(fake.port), probe(fake.port)
    assert (first.returncode, first.stderr) == (0, "")
    assert second.returncode == 0
    api_key, api_version, correlation, client_len = struct.unpack(">hhih", fake.requests[0][:10])
    assert (api_key, api_version) == (18, 0)
    assert fake.requests[0][10:] == b"kplane-ready"
    assert client_len == len(b"kplane-ready")
    assert correlation >= 0
    other = struct.unpack(">i", fake.requests[1][4:8])[0]
    assert other != correlation, "each probe uses a fresh correlation id"


def test_a_listener_that_accepts_but_never_answers_is_not_ready(
    listeners: list[FakeListener],
) -> None:
    """What a SIGSTOPped JVM looks like from outside, and what a tcpSocket probe passes."""
    stop = threading.Event()

    def stay_silent(conn: socket.socket) -> None:
        stop.wait(10)

    silent = FakeListener(stay_silent)
    listeners.append(silent)
    try:
        result = probe(silent.port, "127.0.0.1", "0.5")
    finally:
        stop.set()
    assert result.returncode == 1
    assert "no reply" in result.stderr and "within 0.5s" in result.stderr
    assert 0.4 < result.seconds < 3.0


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (b"", "closed the connection"),
        (struct.pack(">i", 2) + b"\x00\x00", "2-byte frame"),
        (struct.pack(">ii", 6, -1) + b"\x00\x00", "not Kafka?"),
    ],
)
def test_a_reply_that_is_not_kafkas_is_not_ready(
    listeners: list[FakeListener], reply: bytes, message: str
) -> None:
    def answer(conn: socket.socket) -> None:
        fake.read_request(conn)
        conn.sendall(reply)

    fake = FakeListener(answer)
    listeners.append(fake)
    result = probe(fake.port)
    assert result.returncode == 1
    assert message in result.stderr


def test_a_closed_port_is_not_ready_at_once() -> None:
    with socket.create_server(("127.0.0.1", 0)) as placeholder:
        port = str(placeholder.getsockname()[1])
    result = probe(port)
    assert result.returncode == 1
    assert f"cannot connect to 127.0.0.1:{port}" in result.stderr
    assert result.seconds < 2.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "PORT must be a TCP port"),
        (("70000",), "PORT must be a TCP port"),
        (("9092", "a host"), "HOST must be"),
        (("9092", "127.0.0.1", "0"), "TIMEOUT must be a positive number"),
        (("9092", "127.0.0.1", "1", "x"), "too many arguments"),
    ],
)
def test_bad_usage_exits_2_with_the_reason(args: tuple[str, ...], message: str) -> None:
    result = probe(*args)
    assert result.returncode == 2
    assert message in result.stderr


def test_a_real_node_is_ready_on_both_listeners_not_while_frozen_and_again_after(
    kafka_single: LocalKafkaCluster,
) -> None:
    node = kafka_single.nodes[0]
    pid = node.pid
    assert pid is not None
    for port in (CLIENT_PORT, CONTROLLER_PORT):
        ready = probe(str(port), node.host)
        assert (ready.returncode, ready.stderr) == (0, ""), f"port {port}"
    os.kill(pid, signal.SIGSTOP)
    try:
        frozen = probe(str(CLIENT_PORT), node.host, "1")
        # The kernel still accepts connections: exactly what a tcpSocket probe would call Ready.
        with socket.create_connection((node.host, CLIENT_PORT), timeout=2):
            pass
    finally:
        os.kill(pid, signal.SIGCONT)
    assert frozen.returncode == 1
    assert "no reply" in frozen.stderr
    wait_for(lambda: probe(str(CLIENT_PORT), node.host).returncode == 0, 30, "ready after SIGCONT")
