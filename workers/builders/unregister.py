"""PURE: the one-shot pod that unregisters removed brokers from the KRaft metadata.

A KRaft broker that is shut down for good stays registered (fenced) until someone sends
UnregisterBroker; a stale registration holds back metadata.version upgrades (the controller
checks the supported versions of every registered broker). Neither confluent-kafka nor
kafka-python sends UnregisterBroker, so this pod runs Kafka's own tool from the broker image:
`org.apache.kafka.tools.ClusterTool unregister --id <id>`, as the control plane's principal.
"""

from __future__ import annotations

from collections.abc import Sequence

from workers.builders import names
from workers.builders.cluster import BuildOptions, ClusterSpec, Manifest

POD = "kafka-unregister"

# The admin password comes from the cluster's Secret; the client config file holding it is
# readable by the pod's user only and lives in the pod's scratch space.
_SCRIPT = """set -eu
umask 077
cfg="$(mktemp)"
cat >"$cfg" <<EOF
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \
username="$ADMIN_USER" password="$ADMIN_PASSWORD";
EOF
java="${JAVA_HOME:+$JAVA_HOME/bin/}java"
for id in $BROKER_IDS; do
  "$java" -Xmx128m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
    -cp "$KAFKA_LIBS/*" \
    org.apache.kafka.tools.ClusterTool unregister \
    --bootstrap-server "$BOOTSTRAP" --command-config "$cfg" --id "$id"
done
rm -f "$cfg"
"""


def pod(
    spec: ClusterSpec, opts: BuildOptions, bootstrap: str, broker_ids: Sequence[int]
) -> Manifest:
    """A pod (restartPolicy Never) that unregisters `broker_ids`; it carries the cluster's
    labels but is not part of its desired objects: the scaling step deletes it when done."""
    secret = {"name": names.SECRET}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": POD,
            "namespace": names.namespace_of(spec.uid),
            "labels": names.labels(spec.project_id, spec.cluster_id, spec.uid),
        },
        "spec": {
            "restartPolicy": "Never",
            "securityContext": {"runAsUser": 1000, "runAsGroup": 1000},
            "containers": [
                {
                    "name": "unregister",
                    "image": f"{opts.image}:{spec.kafka_version}",
                    "command": ["sh", "-c", _SCRIPT],
                    "env": [
                        {"name": "BROKER_IDS", "value": " ".join(str(b) for b in broker_ids)},
                        {"name": "BOOTSTRAP", "value": bootstrap},
                        {"name": "KAFKA_LIBS", "value": "/opt/kafka/libs"},
                        {
                            "name": "ADMIN_USER",
                            "valueFrom": {"secretKeyRef": {**secret, "key": "admin-username"}},
                        },
                        {
                            "name": "ADMIN_PASSWORD",
                            "valueFrom": {"secretKeyRef": {**secret, "key": "admin-password"}},
                        },
                    ],
                    "resources": {
                        "requests": {"cpu": "100m", "memory": "256Mi"},
                        "limits": {"memory": "256Mi"},
                    },
                }
            ],
        },
    }
