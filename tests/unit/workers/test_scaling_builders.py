"""Pure tests of what scaling renders: the broker pods a scale-in keeps, the unregister pod."""

from __future__ import annotations

import uuid

from workers.builders import cluster as build
from workers.builders import names, unregister

SPEC = build.ClusterSpec(
    uid=uuid.UUID(int=7),
    project_id="p",
    cluster_id="c",
    kafka_version="4.4.0",
    broker_count=3,
    controller_count=3,
    cpu=1.0,
    memory_gib=2.0,
    storage_gib=10,
)


def brokers(opts: build.BuildOptions) -> int:
    sts = next(
        m
        for m in build.manifests(SPEC, opts)
        if m["kind"] == "StatefulSet" and m["metadata"]["name"] == names.BROKERS
    )
    return int(sts["spec"]["replicas"])


def test_a_scale_in_keeps_the_old_broker_pods_until_told() -> None:
    assert brokers(build.BuildOptions(admin_password="x")) == 3
    assert brokers(build.BuildOptions(admin_password="x", broker_pods=5)) == 5
    # Never fewer pods than broker_count.
    assert brokers(build.BuildOptions(admin_password="x", broker_pods=1)) == 3


def test_the_unregister_pod_runs_kafkas_tool_once_with_the_secret() -> None:
    opts = build.BuildOptions(admin_password="s3cret-pw")
    pod = unregister.pod(SPEC, opts, "10.0.0.1:9092", [103, 104])
    assert pod["kind"] == "Pod" and pod["metadata"]["name"] == unregister.POD
    assert pod["metadata"]["namespace"] == names.namespace_of(SPEC.uid)
    assert pod["spec"]["restartPolicy"] == "Never"
    container = pod["spec"]["containers"][0]
    assert container["image"] == "kplane/broker:4.4.0"
    assert "org.apache.kafka.tools.ClusterTool unregister" in container["command"][2]
    env = {e["name"]: e for e in container["env"]}
    assert env["BROKER_IDS"]["value"] == "103 104"
    assert env["BOOTSTRAP"]["value"] == "10.0.0.1:9092"
    # The password is never in the manifest, only a reference to the cluster's Secret.
    assert env["ADMIN_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == names.SECRET
    assert "s3cret-pw" not in str(pod) and "value" not in env["ADMIN_PASSWORD"]
