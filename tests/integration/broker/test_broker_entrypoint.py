"""broker/entrypoint on its own: what it renders from a pod's environment, and how it refuses bad
or missing settings (a clear message, exit status 2, nothing formatted or started)."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest

from devstack import kafka_dist

VOTERS = "0@ctrl-0.ctrl:9093,1@ctrl-1.ctrl:9093,2@ctrl-2.ctrl:9093"


@pytest.fixture
def pod_env(kafka_home: Path, tmp_path: Path) -> dict[str, str]:
    """A valid environment of broker pod ``kafka-broker-2`` of a 3+3 cluster."""
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "KAFKA_HOME": str(kafka_home),
        "POD_NAME": "kafka-broker-2",
        "POD_IP": "10.244.0.7",
        "KPLANE_PROCESS_ROLES": "broker",
        "KPLANE_CLUSTER_ID": "MkU3OEVBNTcwNTJENDM2Qk",
        "KPLANE_NODE_ID_OFFSET": "100",
        "KPLANE_CONTROLLER_QUORUM_VOTERS": VOTERS,
        "KPLANE_DATA_DIR": str(tmp_path / "data"),
        "KPLANE_CONFIG_DIR": str(config_dir),
        "KPLANE_ADMIN_USERNAME": "kplane-admin",
        "KPLANE_ADMIN_PASSWORD": "Zm9vYmFyYmF6cXV4",
        "KPLANE_MEMORY_MIB": "2048",
    }


def entrypoint(env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(kafka_dist.ENTRYPOINT), *args],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def rendered(env: Mapping[str, str]) -> dict[str, str]:
    proc = entrypoint(env, "render")
    assert proc.returncode == 0, proc.stderr
    props: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            props[key] = value  # later lines win, as in java.util.Properties
    return props


def test_broker_pod_renders_node_id_listeners_and_security(pod_env: dict[str, str]) -> None:
    props = rendered(pod_env)
    assert props["process.roles"] == "broker"
    assert props["node.id"] == "102"  # ordinal 2 + pool offset 100
    assert props["controller.quorum.voters"] == VOTERS
    assert props["listeners"] == "REPLICATION://0.0.0.0:9091,CLIENT://0.0.0.0:9092"
    assert props["advertised.listeners"] == (
        "REPLICATION://10.244.0.7:9091,CLIENT://10.244.0.7:9092"
    )
    assert props["inter.broker.listener.name"] == "REPLICATION"
    assert props["listener.name.client.sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert props["sasl.mechanism.inter.broker.protocol"] == "SCRAM-SHA-512"
    assert props["log.dirs"] == f"{pod_env['KPLANE_DATA_DIR']}/kafka"
    assert props["authorizer.class.name"].endswith("StandardAuthorizer")
    assert props["super.users"] == "User:kplane-admin"
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert props["auto.create.topics.enable"] == "false"
    assert "default.replication.factor" not in props  # a controller setting in KRaft


def test_controller_and_combined_roles(pod_env: dict[str, str]) -> None:
    controller = rendered(
        {
            **pod_env,
            "POD_NAME": "kafka-controller-1",
            "KPLANE_PROCESS_ROLES": "controller",
            "KPLANE_NODE_ID_OFFSET": "0",
        }
    )
    assert controller["process.roles"] == "controller"
    assert controller["node.id"] == "1"
    assert controller["listeners"] == "CONTROLLER://0.0.0.0:9093"
    assert "inter.broker.listener.name" not in controller
    assert controller["default.replication.factor"] == "3"

    single = rendered(
        {
            **pod_env,
            "POD_NAME": "solo-0",
            "KPLANE_PROCESS_ROLES": "both",
            "KPLANE_NODE_ID_OFFSET": "0",
            "KPLANE_CONTROLLER_QUORUM_VOTERS": "0@solo-0.solo:9093",
            "KPLANE_REPLICATION_FACTOR": "1",
            "KPLANE_BIND_HOST": "127.0.0.9",
            "KPLANE_ADVERTISED_HOST": "solo-0.solo.ns.svc",
        }
    )
    assert single["process.roles"] == "broker,controller"
    assert single["listeners"] == (
        "REPLICATION://127.0.0.9:9091,CLIENT://127.0.0.9:9092,CONTROLLER://127.0.0.9:9093"
    )
    assert single["advertised.listeners"].startswith("REPLICATION://solo-0.solo.ns.svc:9091,")
    assert single["offsets.topic.replication.factor"] == "1"
    assert single["min.insync.replicas"] == "1"


def test_config_dir_overrides_win_but_owned_keys_are_refused(pod_env: dict[str, str]) -> None:
    overrides = Path(pod_env["KPLANE_CONFIG_DIR"]) / "server.properties"
    overrides.write_text("# tuning\nnum.network.threads=5\nmin.insync.replicas = 1\n")
    props = rendered(pod_env)
    assert props["num.network.threads"] == "5"
    assert props["min.insync.replicas "] == " 1"  # the file's own spelling, appended last

    overrides.write_text("num.io.threads=4\nsuper.users=User:mallory\n")
    proc = entrypoint(pod_env, "render")
    assert proc.returncode == 2
    assert "line 2 sets 'super.users', which the entrypoint owns" in proc.stderr


@pytest.mark.parametrize(
    ("memory", "extra", "heap"),
    [
        ("2048", {}, "1024m"),  # half the memory
        ("65536", {}, "6144m"),  # capped: Kafka wants page cache, not heap
        ("1000", {"KPLANE_HEAP_PERCENT": "25"}, "250m"),
        ("1000", {"KPLANE_HEAP_MIB": "300"}, "300m"),
    ],
)
def test_heap_is_sized_from_memory(
    pod_env: dict[str, str], memory: str, extra: dict[str, str], heap: str
) -> None:
    proc = entrypoint({**pod_env, "KPLANE_MEMORY_MIB": memory, **extra}, "jvm-opts")
    assert proc.returncode == 0, proc.stderr
    opts = proc.stdout.split()
    assert f"-Xmx{heap}" in opts
    assert f"-Xms{heap}" in opts


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"KPLANE_CLUSTER_ID": None}, "KPLANE_CLUSTER_ID is not set"),
        ({"KPLANE_CLUSTER_ID": "not-a-cluster-id"}, "22-character base64url"),
        ({"POD_NAME": "kafka-broker-two"}, "cannot parse a StatefulSet ordinal"),
        ({"POD_NAME": "kafkabroker"}, "cannot parse a StatefulSet ordinal"),
        ({"POD_NAME": None}, "POD_NAME is not set"),
        ({"KPLANE_CONFIG_DIR": "/nonexistent/kplane-config"}, "is not a directory"),
        ({"KPLANE_PROCESS_ROLES": "leader"}, "must be controller, broker or both"),
        ({"KPLANE_PROCESS_ROLES": None}, "KPLANE_PROCESS_ROLES is not set"),
        ({"KPLANE_NODE_ID_OFFSET": "-1"}, "KPLANE_NODE_ID_OFFSET must be a non-negative"),
        (
            {"KPLANE_NODE_ID_OFFSET": "0", "POD_NAME": "kafka-broker-1"},
            "collides with a controller",
        ),
        ({"KPLANE_CONTROLLER_QUORUM_VOTERS": None}, "KPLANE_CONTROLLER_QUORUM_VOTERS is not set"),
        ({"KPLANE_CONTROLLER_QUORUM_VOTERS": "0@ctrl-0"}, "is not <node id>@<host>:<port>"),
        ({"KPLANE_CONTROLLER_QUORUM_VOTERS": "0@c:99999"}, "must be a TCP port"),
        ({"POD_IP": None}, "neither KPLANE_ADVERTISED_HOST nor POD_IP is set"),
        ({"KPLANE_ADMIN_PASSWORD": None}, "KPLANE_ADMIN_PASSWORD is not set"),
        ({"KPLANE_ADMIN_PASSWORD": "short"}, "at least 8 characters"),
        ({"KPLANE_ADMIN_PASSWORD": 'has"quote'}, "without whitespace"),
        ({"KPLANE_ADMIN_USERNAME": "bad user"}, "may hold only letters"),
        ({"KPLANE_MIN_INSYNC_REPLICAS": "4"}, "between 1 and KPLANE_REPLICATION_FACTOR"),
        ({"KPLANE_CLIENT_PORT": "http"}, "KPLANE_CLIENT_PORT must be a non-negative integer"),
        ({"KPLANE_DATA_DIR": "relative/dir"}, "must be an absolute path"),
        ({"KAFKA_HOME": "/nonexistent"}, "has no libs/ directory"),
        ({"KPLANE_MEMORY_MIB": "128"}, "needs at least 256 MiB"),
        ({"KPLANE_JVM_PROFILE": "huge"}, "must be server or small"),
    ],
)
def test_bad_or_missing_settings_fail_clearly(
    pod_env: dict[str, str], change: dict[str, str | None], message: str
) -> None:
    env = {k: v for k, v in {**pod_env, **change}.items() if v is not None}
    proc = entrypoint(env, "run")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.startswith("kplane-broker: error: ")
    assert message in proc.stderr
    # Refused before touching storage, and no JVM started (it would print Kafka's banner).
    assert not (Path(pod_env["KPLANE_DATA_DIR"]) / "kafka" / "meta.properties").exists()
    assert proc.stdout == ""


def test_controller_missing_from_voters_is_refused(pod_env: dict[str, str]) -> None:
    env = {
        **pod_env,
        "KPLANE_PROCESS_ROLES": "controller",
        "POD_NAME": "kafka-controller-5",
        "KPLANE_NODE_ID_OFFSET": "0",
    }
    proc = entrypoint(env, "run")
    assert proc.returncode == 2
    assert "node.id 5 is not in KPLANE_CONTROLLER_QUORUM_VOTERS" in proc.stderr


def test_storage_of_another_cluster_is_refused(pod_env: dict[str, str]) -> None:
    log_dir = Path(pod_env["KPLANE_DATA_DIR"]) / "kafka"
    log_dir.mkdir(parents=True)
    (log_dir / "meta.properties").write_text("version=1\ncluster.id=AAAAAAAAAAAAAAAAAAAAAA\n")
    proc = entrypoint(pod_env, "run")
    assert proc.returncode == 2
    assert "belongs to cluster 'AAAAAAAAAAAAAAAAAAAAAA'" in proc.stderr
    assert "refusing to start" in proc.stderr


@pytest.mark.parametrize(
    ("files", "outcome"),
    [
        ({"memory.max": "1073741824\n"}, "-Xmx512m"),  # cgroup v2, a 1 GiB limit
        ({"memory/memory.limit_in_bytes": "2147483648\n"}, "-Xmx1024m"),  # cgroup v1, 2 GiB
        ({"memory.max": "max\n"}, "set KPLANE_MEMORY_MIB"),  # v2 without a limit
        ({"memory/memory.limit_in_bytes": "9223372036854771712\n"}, "set KPLANE_MEMORY_MIB"),
        ({}, "set KPLANE_MEMORY_MIB"),  # no cgroup memory controller at all
    ],
)
def test_heap_falls_back_to_the_cgroup_limit(
    pod_env: dict[str, str], tmp_path: Path, files: dict[str, str], outcome: str
) -> None:
    root = tmp_path / "cgroup"
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(content)
    env = {k: v for k, v in pod_env.items() if k != "KPLANE_MEMORY_MIB"}
    proc = entrypoint({**env, "KPLANE_CGROUP_ROOT": str(root)}, "jvm-opts")
    if outcome.startswith("-X"):
        assert proc.returncode == 0, proc.stderr
        assert outcome in proc.stdout.split()
    else:
        assert proc.returncode == 2
        assert outcome in proc.stderr


def test_tool_command_refuses_a_bad_class_name(pod_env: dict[str, str]) -> None:
    proc = entrypoint(pod_env, "tool", "../../bin/sh")
    assert proc.returncode == 2
    assert "usage: entrypoint tool <class of org.apache.kafka.tools" in proc.stderr


def test_unknown_command_is_refused(pod_env: dict[str, str]) -> None:
    proc = entrypoint(pod_env, "start")
    assert proc.returncode == 2
    assert "unknown command 'start'" in proc.stderr


def test_runs_through_a_symlink(pod_env: dict[str, str], tmp_path: Path) -> None:
    """A pod runner may expose the script as /opt/kplane/entrypoint via a link: its logging
    configuration must still be found beside the real file."""
    link = tmp_path / "entrypoint"
    link.symlink_to(kafka_dist.ENTRYPOINT)
    proc = subprocess.run(
        [str(link), "jvm-opts"], env=pod_env, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert f"-Dlog4j2.configurationFile={kafka_dist.BROKER_DIR / 'log4j2.xml'}" in proc.stdout
