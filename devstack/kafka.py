"""Real Apache Kafka KRaft clusters on this machine, for the tests, benchmarks and people.

Every node is ``broker/entrypoint`` (the broker image's entrypoint) run as a local process
against the cached jars of devstack.kafka_dist, configured only through the environment a
StatefulSet would give it — so a test here exercises what the image runs. Each node gets its own
loopback address (``<prefix>.<n>``, e.g. 127.77.1.1) and so the image's fixed ports (9092 clients,
9091 replication, 9093 controllers); a cluster claims its prefix with a lock file so that two
clusters (in one process or several) never collide.

Shapes: ``controllers=0`` runs ``brokers`` combined nodes (controller+broker in one JVM: the
one-node cluster); ``controllers>0`` runs separate pools like production, controllers with
node.id 0.. and brokers with node.id 100.. (the entrypoint's per-pool offset).

    with LocalKafkaCluster(controllers=3, brokers=3) as kafka:
        AdminClient(kafka.admin_config()).list_topics()

``python -m devstack.kafka --controllers 3 --brokers 3`` runs one until Ctrl-C.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import errno
import fcntl
import hashlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from confluent_kafka import Consumer, KafkaException, Producer, TopicCollection
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from devstack import kafka_dist

CLIENT_PORT = 9092
REPLICATION_PORT = 9091
CONTROLLER_PORT = 9093
BROKER_NODE_ID_OFFSET = 100
DEFAULT_ADMIN_USERNAME = "kplane-admin"
# Where prefixes are looked for when none is given: 127.77.1 .. 127.77.250.
_AUTO_PREFIX_BASE = "127.77"

# Local clusters are for tests: settings that make them quick without changing semantics.
DEV_OVERRIDES: Mapping[str, str] = {
    # Consumers in tests join a fresh group and should not wait 3 s for more members.
    "group.initial.rebalance.delay.ms": "0",
}


# What confluent-kafka's clients take as their configuration.
ClientConfig = dict[str, str | int | float | bool]


class KafkaClusterError(RuntimeError):
    """A local Kafka node failed to start, died, or a condition was not met in time."""


def new_cluster_id() -> str:
    """A random Kafka cluster id: 16 bytes, URL-safe base64 without padding (22 characters).

    Like Kafka's own ``Uuid.randomUuid`` it never begins with '-', which command-line tools
    would read as an option (the entrypoint copes with one anyway)."""
    while True:
        candidate = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not candidate.startswith("-"):
            return candidate


def wait_for(
    condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.2
) -> None:
    """Poll ``condition`` until it holds; at the deadline, raise KafkaClusterError."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise KafkaClusterError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


@dataclass
class LocalKafkaNode:
    """One KRaft node: its identity, where it keeps things, and its process when running."""

    node_id: int
    pod_name: str
    roles: str  # "controller", "broker" or "both"
    host: str
    node_dir: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)

    @property
    def is_broker(self) -> bool:
        return self.roles in ("broker", "both")

    @property
    def is_controller(self) -> bool:
        return self.roles in ("controller", "both")

    @property
    def data_dir(self) -> Path:
        return self.node_dir / "data"

    @property
    def log_dir(self) -> Path:
        """Kafka's log.dirs (the entrypoint puts it under the data volume)."""
        return self.data_dir / "kafka"

    @property
    def log_path(self) -> Path:
        return self.node_dir / "node.log"

    @property
    def pid(self) -> int | None:
        proc = self.process
        return proc.pid if proc is not None and proc.poll() is None else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


class LocalKafkaCluster:
    """An N-node KRaft cluster of real Kafka processes on loopback addresses.

    The constructor only plans the cluster (ids, addresses, directories); ``start()`` runs it.
    ``workdir`` keeps node data across ``stop()``/``start()``; a temporary one is removed when the
    context manager exits (or on ``close()``).
    """

    def __init__(
        self,
        *,
        controllers: int = 0,
        brokers: int = 1,
        version: str | None = None,
        workdir: Path | None = None,
        host_prefix: str | None = None,
        name: str = "kafka",
        cluster_id: str | None = None,
        admin_username: str = DEFAULT_ADMIN_USERNAME,
        admin_password: str | None = None,
        memory_mib: int = 512,
        jvm_profile: str = "small",
        jvm_opts: str = "",
        cds: bool = False,
        config: Mapping[str, str] | None = None,
    ) -> None:
        if brokers < 1:
            raise ValueError("a Kafka cluster needs at least one broker")
        if controllers < 0:
            raise ValueError("controllers must be 0 (combined nodes) or more")
        if controllers == 0 and brokers not in (1, 3, 5):
            # Every combined node is a voter: an even quorum only adds a way to lose majority.
            raise ValueError("combined mode runs 1, 3 or 5 nodes (each one is a quorum voter)")
        self.version = version or kafka_dist.default_version()
        kafka_dist.get_version(self.version)  # a clear error for an unsupported version, now
        self.name = name
        self.cluster_id = cluster_id or new_cluster_id()
        self.admin_username = admin_username
        self.admin_password = admin_password or secrets.token_urlsafe(18)
        self.memory_mib = memory_mib
        self.jvm_profile = jvm_profile
        # Class-data sharing: start() trains (once per version and JVM) and uses an archive.
        self.cds = cds
        self.config = {**DEV_OVERRIDES, **(config or {})}
        self._owns_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix=f"kplane-{name}-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        total = controllers + brokers
        self._lock: IO[str] | None = None
        self.host_prefix = self._claim_prefix(host_prefix, total)

        shape: list[tuple[str, int, str]] = []  # (pod name, node id, roles)
        if controllers == 0:
            shape = [(f"{name}-{i}", i, "both") for i in range(brokers)]
        else:
            shape += [(f"{name}-controller-{i}", i, "controller") for i in range(controllers)]
            shape += [
                (f"{name}-broker-{i}", BROKER_NODE_ID_OFFSET + i, "broker") for i in range(brokers)
            ]
        hosts = [f"{self.host_prefix}.{n + 1}" for n in range(total)]
        voters = ",".join(
            f"{node_id}@{host}:{CONTROLLER_PORT}"
            for (_, node_id, roles), host in zip(shape, hosts, strict=True)
            if roles != "broker"
        )
        replication = min(3, brokers)
        self.nodes: list[LocalKafkaNode] = []
        for (pod_name, node_id, roles), host in zip(shape, hosts, strict=True):
            node_dir = self.workdir / pod_name
            env = {
                "POD_NAME": pod_name,
                "POD_IP": host,
                "KAFKA_HOME": "",  # filled in by start(): resolving jars may take a while
                "KPLANE_PROCESS_ROLES": roles,
                "KPLANE_CLUSTER_ID": self.cluster_id,
                "KPLANE_NODE_ID_OFFSET": str(BROKER_NODE_ID_OFFSET if roles == "broker" else 0),
                "KPLANE_CONTROLLER_QUORUM_VOTERS": voters,
                "KPLANE_BIND_HOST": host,
                "KPLANE_ADVERTISED_HOST": host,
                "KPLANE_DATA_DIR": str(node_dir / "data"),
                "KPLANE_CONFIG_DIR": str(node_dir / "config"),
                "KPLANE_ADMIN_USERNAME": self.admin_username,
                "KPLANE_ADMIN_PASSWORD": self.admin_password,
                "KPLANE_MEMORY_MIB": str(memory_mib),
                "KPLANE_JVM_PROFILE": jvm_profile,
                "KPLANE_REPLICATION_FACTOR": str(replication),
            }
            if jvm_opts:
                env["KPLANE_JVM_OPTS"] = jvm_opts
            self.nodes.append(LocalKafkaNode(node_id, pod_name, roles, host, node_dir, env))

    # --- addresses -------------------------------------------------------------------------

    def _claim_prefix(self, wanted: str | None, count: int) -> str:
        """Lock a 127.x.y prefix for this cluster's lifetime and check its ports are free."""
        lock_dir = kafka_dist.cache_root().parent / "kafka-net"
        lock_dir.mkdir(parents=True, exist_ok=True)
        third = range(1, 251)
        candidates = [wanted] if wanted else [f"{_AUTO_PREFIX_BASE}.{n}" for n in third]
        for prefix in candidates:
            parts = prefix.split(".")
            if len(parts) != 3 or parts[0] != "127" or not all(p.isdigit() for p in parts):
                raise ValueError(f"host_prefix must look like 127.x.y, got {prefix!r}")
            lock = (lock_dir / f"{prefix}.lock").open("w")
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                lock.close()
                if exc.errno in (errno.EAGAIN, errno.EACCES) and not wanted:
                    continue
                raise KafkaClusterError(
                    f"addresses {prefix}.* are in use by another cluster"
                ) from exc
            busy = [
                f"{prefix}.{n}:{port}"
                for n in range(1, count + 1)
                for port in (CLIENT_PORT, REPLICATION_PORT, CONTROLLER_PORT)
                if not _bindable(f"{prefix}.{n}", port)
            ]
            if not busy:
                self._lock = lock
                return prefix
            lock.close()
            if wanted:
                raise KafkaClusterError(f"cannot use {prefix}.*: in use: {', '.join(busy)}")
        raise KafkaClusterError("no free 127.77.x address block for a local Kafka cluster")

    # --- client settings -------------------------------------------------------------------

    @property
    def brokers(self) -> list[LocalKafkaNode]:
        return [n for n in self.nodes if n.is_broker]

    @property
    def controllers(self) -> list[LocalKafkaNode]:
        return [n for n in self.nodes if n.is_controller]

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(f"{n.host}:{CLIENT_PORT}" for n in self.brokers)

    @property
    def pids(self) -> dict[int, int]:
        """node.id -> PID of every running node."""
        return {n.node_id: n.process.pid for n in self.nodes if n.process and n.running}

    def client_config(self, username: str, password: str) -> ClientConfig:
        """confluent-kafka settings to reach the client listener as ``username`` (SCRAM)."""
        return {
            "bootstrap.servers": self.bootstrap_servers,
            "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": "SCRAM-SHA-512",
            "sasl.username": username,
            "sasl.password": password,
        }

    def admin_config(self) -> ClientConfig:
        """confluent-kafka settings for the control plane's admin principal (a super user)."""
        return self.client_config(self.admin_username, self.admin_password)

    @property
    def client_properties(self) -> Path:
        """A Java client properties file (SASL_PLAINTEXT, SCRAM-SHA-512 as the admin), written on
        first use, for Kafka's own tools' ``--command-config``."""
        path = self.workdir / "admin-client.properties"
        if not path.exists():
            path.touch(mode=0o600)
            path.write_text(
                "security.protocol=SASL_PLAINTEXT\n"
                "sasl.mechanism=SCRAM-SHA-512\n"
                "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule "
                f'required username="{self.admin_username}" password="{self.admin_password}";\n'
            )
        return path

    def node(self, node_id: int) -> LocalKafkaNode:
        for n in self.nodes:
            if n.node_id == node_id:
                return n
        raise KeyError(f"no node with node.id {node_id} (have {[n.node_id for n in self.nodes]})")

    # --- lifecycle -------------------------------------------------------------------------

    def start(self, timeout: float = 180.0) -> LocalKafkaCluster:
        """Start every node at once and wait until all brokers are registered and unfenced."""
        home = kafka_dist.ensure(self.version)
        for n in self.nodes:
            n.env["KAFKA_HOME"] = str(home)
            if self.cds:
                n.env["KPLANE_CDS_ARCHIVE"] = str(ensure_cds_archive(self.version))
        try:
            for n in self.nodes:
                self._spawn(n)
            self.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self, node: LocalKafkaNode) -> None:
        if node.running:
            raise KafkaClusterError(f"node {node.node_id} is already running")
        config_dir = node.node_dir / "config"
        config_dir.mkdir(parents=True, exist_ok=True)
        (config_dir / "server.properties").write_text(
            "".join(f"{k}={v}\n" for k, v in sorted(self.config.items()))
        )
        if node._log is not None:
            node._log.close()
        node._log = node.log_path.open("ab")
        node._log.write(f"--- kplane devstack: starting {node.pod_name} ---\n".encode())
        node._log.flush()
        node.process = subprocess.Popen(
            [str(kafka_dist.ENTRYPOINT), "run"],
            env={**self._base_env(), **node.env},
            stdin=subprocess.DEVNULL,
            stdout=node._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: signals reach only this node
        )

    @staticmethod
    def _base_env() -> dict[str, str]:
        """Only what a pod would have: no KPLANE_*/KAFKA_* leaking in from the caller's shell."""
        return {
            k: v for k, v in os.environ.items() if not k.startswith(("KPLANE_", "KAFKA_", "POD_"))
        }

    def _check_alive(self, nodes: Iterable[LocalKafkaNode]) -> None:
        for n in nodes:
            if n.process is not None and n.process.poll() is not None:
                raise KafkaClusterError(
                    f"Kafka node {n.node_id} ({n.pod_name}) exited with status "
                    f"{n.process.returncode}; last lines of {n.log_path}:\n{n.log_tail()}"
                )

    def registered_brokers(self) -> set[int]:
        """The broker ids the cluster currently serves (registered and unfenced); {} if unknown."""
        # A probe: while nodes are still starting, "connection refused" is expected, not news.
        admin = AdminClient({**self.admin_config(), "socket.timeout.ms": "3000", "log_level": "0"})
        try:
            result = admin.describe_cluster(request_timeout=3).result()
        except KafkaException:
            return set()
        return {int(n.id) for n in result.nodes}

    def wait_ready(self, timeout: float = 180.0, node_ids: Iterable[int] | None = None) -> None:
        """Wait until the given brokers (default: all) are registered and ready to serve."""
        wanted = set(node_ids) if node_ids is not None else {n.node_id for n in self.brokers}
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive(n for n in self.nodes if n.process is not None)
            if wanted <= self.registered_brokers():
                return
            if time.monotonic() > deadline:
                raise KafkaClusterError(
                    f"brokers {sorted(wanted)} not all registered after {timeout:.0f}s"
                )
            time.sleep(0.2)

    def stop_node(self, node_id: int, timeout: float = 60.0) -> None:
        """Stop one node gracefully (SIGTERM: controlled shutdown), SIGKILL at the deadline."""
        node = self.node(node_id)
        proc = node.process
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill_node(node_id)

    def kill_node(self, node_id: int) -> None:
        """Kill one node at once (SIGKILL), as a crash or an OOM kill would."""
        proc = self.node(node_id).process
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)

    def start_node(
        self,
        node_id: int,
        wait: bool = True,
        timeout: float = 120.0,
        version: str | None = None,
    ) -> None:
        """(Re)start one node on its existing data; by default wait until it serves again.

        ``version`` runs it on another Kafka release (a rolling upgrade step: the image tag
        changes, the data volume stays)."""
        node = self.node(node_id)
        if version is not None:
            node.env["KAFKA_HOME"] = str(kafka_dist.ensure(version))
            if self.cds:
                node.env["KPLANE_CDS_ARCHIVE"] = str(ensure_cds_archive(version))
        self._spawn(node)
        if wait and node.is_broker:
            self.wait_ready(timeout, node_ids=[node_id])

    def partitions_missing(self, node_id: int, topics: Iterable[str]) -> list[str]:
        """Partitions of ``topics`` that list ``node_id`` as a replica but not in their ISR."""
        admin = AdminClient(self.admin_config())
        futures = admin.describe_topics(TopicCollection(list(topics)), request_timeout=10)
        missing = []
        for topic, future in futures.items():
            for p in future.result().partitions:
                replicas = {r.id for r in p.replicas}
                isr = {r.id for r in p.isr}
                if node_id in replicas and node_id not in isr:
                    missing.append(f"{topic}-{p.id}")
        return missing

    def wait_in_sync(self, node_id: int, topics: Iterable[str], timeout: float = 120.0) -> None:
        """Wait until ``node_id`` is back in the ISR of every partition of ``topics`` it holds."""
        names = list(topics)

        def in_sync() -> bool:
            self._check_alive([self.node(node_id)])
            try:
                return not self.partitions_missing(node_id, names)
            except KafkaException:
                return False

        wait_for(in_sync, timeout, f"node {node_id} to rejoin the ISR of {names}")

    def run_tool(
        self, tool: str, *args: str, node_id: int | None = None, timeout: float = 120.0
    ) -> str:
        """Run one of Kafka's operator tools as the admin principal, through the node's own
        ``entrypoint tool`` (exactly what ``kubectl exec`` would run in a pod); return stdout.

        ``tool`` is a class of org.apache.kafka.tools: ``FeatureCommand`` (kafka-features),
        ``MetadataQuorumCommand`` (kafka-metadata-quorum), ``TopicCommand`` (kafka-topics)...
        The default node is the first running broker."""
        if node_id is None:
            running = [n for n in self.brokers if n.running] or self.brokers
            node = running[0]
        else:
            node = self.node(node_id)
        env = {**self._base_env(), **node.env}
        if not env["KAFKA_HOME"]:
            env["KAFKA_HOME"] = str(kafka_dist.ensure(self.version))
        proc = subprocess.run(
            [str(kafka_dist.ENTRYPOINT), "tool", tool, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if proc.returncode != 0:
            raise KafkaClusterError(
                f"{tool} {' '.join(args)} failed (exit {proc.returncode}):\n"
                f"{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
            )
        return proc.stdout

    def stop(self, timeout: float = 60.0) -> None:
        """Stop every node: brokers first (controlled shutdown needs the controllers), then the
        controllers. Data stays in the workdir."""
        for group in (
            [n for n in self.nodes if n.roles == "broker"],
            [n for n in self.nodes if n.roles != "broker"],
        ):
            for n in group:
                if n.running and n.process is not None:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(n.process.pid, signal.SIGTERM)
            for n in group:
                if n.process is not None:
                    try:
                        n.process.wait(timeout)
                    except subprocess.TimeoutExpired:
                        self.kill_node(n.node_id)
        for n in self.nodes:
            if n._log is not None:
                n._log.close()
                n._log = None

    def close(self) -> None:
        """Stop the cluster, release its addresses, and delete a temporary workdir."""
        self.stop()
        if self._lock is not None:
            self._lock.close()
            self._lock = None
        if self._owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> LocalKafkaCluster:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _java_key() -> str:
    """Identifies the JVM build: a class-data-sharing archive is only valid for the one that
    wrote it."""
    java = shutil.which("java") or "java"
    proc = subprocess.run([java, "-version"], capture_output=True, text=True, check=True)
    digest = hashlib.sha256(f"{os.path.realpath(java)}\n{proc.stderr}".encode())
    return digest.hexdigest()[:12]


def cds_archive_path(version: str) -> Path:
    """Where the class-data-sharing archive of ``version`` for this JVM lives (in its
    KAFKA_HOME, so a re-resolved distribution drops it too)."""
    return kafka_dist.kafka_home(version) / f"kplane-cds-{_java_key()}.jsa"


def ensure_cds_archive(version: str, timeout: float = 180.0) -> Path:
    """Return a JVM class-data-sharing archive of a Kafka node's classes, training it once.

    The training run is a real one-node cluster started with ``-XX:ArchiveClassesAtExit`` that
    serves a few requests (so request-path classes are in) and stops gracefully; the JVM writes
    the archive as it exits, into a temporary name that is renamed into place only when whole.
    """
    path = cds_archive_path(version)
    if path.is_file():
        return path
    kafka_dist.ensure(version)
    staging = path.with_name(f".{path.stem}-{os.getpid()}-{secrets.token_hex(4)}.jsa")
    cluster = LocalKafkaCluster(
        version=version, name="cds-training", jvm_opts=f"-XX:ArchiveClassesAtExit={staging}"
    )
    try:
        with cluster:
            admin = AdminClient(cluster.admin_config())
            admin.create_topics([NewTopic("cds-training", 1, 1)])["cds-training"].result()
            producer = Producer(cluster.admin_config())
            producer.produce("cds-training", b"x")
            producer.flush(30)
            consumer = Consumer(
                {**cluster.admin_config(), "group.id": "cds", "auto.offset.reset": "earliest"}
            )
            consumer.subscribe(["cds-training"])
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                msg = consumer.poll(0.5)
                if msg is not None and msg.error() is None:
                    break
            consumer.close()
            # Drop the clients before the node stops, or they keep reconnecting noisily.
            del producer, consumer, admin
        proc = cluster.nodes[0].process
        if proc is None or proc.returncode == -signal.SIGKILL:
            raise KafkaClusterError("the CDS training node did not stop cleanly")
        if not staging.is_file() or staging.stat().st_size < 1 << 20:
            raise KafkaClusterError(f"the CDS training run wrote no archive at {staging}")
        os.replace(staging, path)
    finally:
        staging.unlink(missing_ok=True)
    return path


def _bindable(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.kafka", description="Run a local KRaft cluster until Ctrl-C."
    )
    parser.add_argument("--controllers", type=int, default=0, help="0: combined nodes")
    parser.add_argument("--brokers", type=int, default=1)
    parser.add_argument("--version", default=None, help="a version of broker/versions.json")
    parser.add_argument("--workdir", type=Path, default=None, help="keep data here across runs")
    parser.add_argument("--host-prefix", default=None, help="127.x.y (default: a free 127.77.y)")
    parser.add_argument("--admin-password", default=None)
    parser.add_argument("--cds", action="store_true", help="use a class-data-sharing archive")
    args = parser.parse_args(argv)
    cluster = LocalKafkaCluster(
        controllers=args.controllers,
        brokers=args.brokers,
        version=args.version,
        workdir=args.workdir,
        host_prefix=args.host_prefix,
        admin_password=args.admin_password,
        cds=args.cds,
    )
    stop = False

    def on_signal(signum: int, frame: Any) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    started = time.monotonic()
    with cluster:
        c = cluster.admin_config()
        print(
            f"Kafka {cluster.version} ready in {time.monotonic() - started:.1f}s "
            f"(cluster id {cluster.cluster_id}, data in {cluster.workdir})\n"
            f"  bootstrap servers: {cluster.bootstrap_servers}\n"
            f"  admin (SASL_PLAINTEXT, SCRAM-SHA-512): "
            f"{c['sasl.username']} / {c['sasl.password']}\n"
            f"  nodes: "
            + ", ".join(f"{n.node_id}={n.roles}@{n.host} pid {n.pid}" for n in cluster.nodes)
            + f"\n  client properties for Kafka's Java tools: {cluster.client_properties}"
            f"\n  try: java -Dlog4j2.configurationFile={kafka_dist.BROKER_DIR}/log4j2-tools.xml"
            f" -cp '{kafka_dist.kafka_home(cluster.version)}/libs/*'"
            f" org.apache.kafka.tools.TopicCommand --bootstrap-server {cluster.bootstrap_servers}"
            f" --command-config {cluster.client_properties} --list\n"
            "  (Debian's kcat links librdkafka 2.0.2, whose SCRAM Kafka 4 rejects: use a client"
            " with librdkafka >= 2.6.1, e.g. the venv's confluent-kafka.)\n"
            "Ctrl-C stops it.",
            flush=True,
        )
        while not stop:
            cluster._check_alive(cluster.nodes)
            time.sleep(0.5)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(_main(sys.argv[1:]))
    except (KafkaClusterError, kafka_dist.KafkaDistError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
