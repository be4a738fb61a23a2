"""What one pass of the cluster reconciler carries from step to step (`Pass`), and what the
reconciler keeps between passes in the cluster's status data (`ClusterData`), typed.

`ClusterData` loads from and dumps to the very JSON the status row has always held (a field
that is unset is left out, keys this code does not know are kept as they were), so existing
rows load and an unchanged pass writes an equal document — no status write.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypedDict

from app.core.kafka_config import BROKER_CONFIGS
from app.core.secrets import admin_password
from app.models import Cluster, ResourceStatus
from workers import status
from workers.adapters.kafka_admin import KafkaAdmin
from workers.adapters.kube import Obj
from workers.builders import cluster as build
from workers.builders import names
from workers.reconcilers.context import Context


class Broker(TypedDict):
    """One broker as the cluster's API body lists it."""

    node_id: int
    state: str
    kafka_version: str
    ready: bool


@dataclass
class RollState:
    """The roll in progress: the generation it rolls to, the pod it acted on last and how."""

    generation: int
    pod: str
    action: str

    @classmethod
    def load(cls, raw: Mapping[str, Any] | None) -> RollState | None:
        if not raw:
            return None
        return cls(int(raw["generation"]), str(raw["pod"]), str(raw["action"]))

    def dump(self) -> dict[str, Any]:
        return {"generation": self.generation, "pod": self.pod, "action": self.action}


@dataclass
class Move:
    """The partition move of a scale-out or scale-in, remembered between passes."""

    # "topic:partition" -> the replicas it moves to (what the metadata must show before the
    # next plan is made)
    target: dict[str, list[int]] = field(default_factory=dict)
    brokers: int | None = None  # the broker count it places for
    from_brokers: int | None = None  # the broker count it started from
    partitions: int | None = None  # partitions it moves
    replicas: int | None = None  # replicas it copies
    in_flight: int | None = None  # reassignments Kafka reported in flight
    placed: bool = False  # every move done, throttles removed, leaders elected

    _INTS = ("brokers", "from_brokers", "partitions", "replicas", "in_flight")

    @classmethod
    def load(cls, raw: Mapping[str, Any] | None) -> Move | None:
        if not raw:
            return None
        ints = {k: int(raw[k]) for k in cls._INTS if raw.get(k) is not None}
        target = {str(k): [int(b) for b in v] for k, v in (raw.get("target") or {}).items()}
        return cls(target=target, placed=bool(raw.get("placed", False)), **ints)

    def dump(self) -> dict[str, Any]:
        out: dict[str, Any] = {"target": self.target}
        out.update({k: getattr(self, k) for k in self._INTS if getattr(self, k) is not None})
        if self.placed:
            out["placed"] = True
        return out

    @property
    def direction(self) -> str:
        to, start = self.brokers, self.from_brokers
        return f"({start} -> {to} brokers)" if to and start else ""


@dataclass
class ClusterData:
    """The cluster's status data: what the API shows (brokers, bootstrap servers, running
    version) and what the steps remember between passes."""

    brokers: list[Broker] | None = None
    bootstrap_servers: str | None = None
    running_kafka_version: str | None = None
    # The broker count the partitions are placed for (the placement step's "done" mark).
    placement_brokers: int | None = None
    scaling: Move | None = None
    roll: RollState | None = None
    # The generation whose roll was cancelled (a new generation starts a roll again).
    roll_cancelled: int | None = None
    # The Kafka version whose metadata.version is known to be finalized.
    metadata_version_finalized_for: str | None = None
    # Keys this version of the worker does not know: kept as they are.
    other: dict[str, Any] = field(default_factory=dict)

    _PLAIN = (
        "brokers",
        "bootstrap_servers",
        "running_kafka_version",
        "placement_brokers",
        "roll_cancelled",
        "metadata_version_finalized_for",
    )

    @classmethod
    def load(cls, raw: Mapping[str, Any] | None) -> ClusterData:
        raw = dict(raw or {})
        plain = {k: raw.pop(k) for k in cls._PLAIN if k in raw}
        return cls(
            **plain,
            scaling=Move.load(raw.pop("scaling", None)),
            roll=RollState.load(raw.pop("roll", None)),
            other=raw,
        )

    def dump(self) -> dict[str, Any]:
        out = dict(self.other)
        out.update({k: getattr(self, k) for k in self._PLAIN if getattr(self, k) is not None})
        if self.scaling is not None:
            out["scaling"] = self.scaling.dump()
        if self.roll is not None:
            out["roll"] = self.roll.dump()
        return out


def pod_ready(pod: Obj) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in pod.get("status", {}).get("conditions", [])
    )


def ordinal(pod_name: str) -> int:
    return int(pod_name.rsplit("-", 1)[1])


def image_version(image: str) -> str:
    return image.rsplit(":", 1)[-1].split("-", 1)[0]


@dataclass(frozen=True)
class Pods:
    """The cluster's pods by pool, as listed once in a pass."""

    controllers: list[Obj]
    brokers: list[Obj]

    def of(self, pool: str) -> list[Obj]:
        return self.controllers if pool == "controller" else self.brokers

    @property
    def ready_controllers(self) -> int:
        return sum(1 for p in self.controllers if pod_ready(p))

    @property
    def ready_brokers(self) -> int:
        return sum(1 for p in self.brokers if pod_ready(p))

    def broker_list(self) -> list[Broker]:
        return [
            Broker(
                node_id=names.BROKER_ID_OFFSET + ordinal(p["metadata"]["name"]),
                state="RUNNING" if pod_ready(p) else "STARTING",
                kafka_version=image_version(p["spec"]["containers"][0]["image"]),
                ready=pod_ready(p),
            )
            for p in sorted(self.brokers, key=lambda p: ordinal(p["metadata"]["name"]))
        ]


def spec_of(c: Cluster) -> build.ClusterSpec:
    resources = c.broker_resources or {}
    return build.ClusterSpec(
        uid=c.uid,
        project_id=c.project_id,
        cluster_id=c.cluster_id,
        kafka_version=c.kafka_version,
        broker_count=c.broker_count,
        controller_count=c.controller_count,
        cpu=float(resources.get("cpu", 1.0)),
        memory_gib=float(resources.get("memory_gib", 2.0)),
        storage_gib=c.storage_gib,
        config=dict(c.config),
    )


def live_broker_pods(ctx: Context, c: Cluster) -> int:
    """Replicas of the live broker StatefulSet (0 before it exists)."""
    live = ctx.kube.get("StatefulSet", names.BROKERS, names.namespace_of(c.uid))
    return int(live["spec"].get("replicas") or 0) if live is not None else 0


@dataclass
class Pass:
    """One pass of the cluster reconciler. Steps read what earlier steps found here."""

    ctx: Context
    cluster: Cluster
    row: ResourceStatus | None
    data: ClusterData
    # Conditions beside Ready, as the steps found them (the roll's PodsUpToDate).
    conditions: list[status.Condition] = field(default_factory=list)
    # The brokers' addresses, known from the health step on.
    bootstrap: str = ""
    # Why the brokers are healthy (the Ready condition's message once ACTIVE).
    health: str = ""
    # Ready before this pass: taken at the start, as recording the status refreshes `row`.
    was_ready: bool = False
    _pods: Pods | None = None

    @classmethod
    def start(cls, ctx: Context, c: Cluster, row: ResourceStatus | None) -> Pass:
        was_ready = row is not None and any(
            cond.get("type") == "Ready" and cond.get("status") == "True" for cond in row.conditions
        )
        data = ClusterData.load(row.data if row is not None else None)
        return cls(ctx, c, row, data, was_ready=was_ready)

    @property
    def namespace(self) -> str:
        return names.namespace_of(self.cluster.uid)

    @property
    def selector(self) -> str:
        return f"{names.LABEL_CLUSTER_UID}={self.cluster.uid}"

    @property
    def first_time(self) -> bool:
        return self.row is None or self.row.observed_generation == 0

    @cached_property
    def spec(self) -> build.ClusterSpec:
        return spec_of(self.cluster)

    @cached_property
    def password(self) -> str:
        return admin_password(self.ctx.secret_key, self.cluster.uid)

    @cached_property
    def opts(self) -> build.BuildOptions:
        settings = self.ctx.settings
        live = self.ctx.kube.get("StatefulSet", names.BROKERS, self.namespace)
        templates = (live["spec"].get("volumeClaimTemplates") or []) if live is not None else []
        size = str(templates[0]["spec"]["resources"]["requests"]["storage"]) if templates else ""
        live_pods = int(live["spec"].get("replicas") or 0) if live is not None else 0
        return build.BuildOptions(
            admin_password=self.password,
            image=settings.broker_image,
            image_build=settings.broker_image_build,
            dynamic_settings=frozenset(k for k, v in BROKER_CONFIGS.items() if v.dynamic),
            jvm_profile=settings.jvm_profile,
            controller_memory_mib=settings.controller_memory_mib,
            controller_storage_gib=settings.controller_storage_gib,
            claim_template_gib=int(size[:-2]) if size.endswith("Gi") else None,
            # A scale-in keeps the old broker pods until the placement step has drained them
            # and lowers the StatefulSet itself.
            broker_pods=max(self.cluster.broker_count, live_pods),
        )

    @cached_property
    def wanted(self) -> list[Obj]:
        """Every namespaced object of the cluster (the builders' manifests)."""
        return build.manifests(self.spec, self.opts)

    def of_kind(self, kind: str) -> list[Obj]:
        return [m for m in self.wanted if m["kind"] == kind]

    def pods(self) -> Pods:
        """The pods, listed once per pass; the brokers they show go into the status data."""
        if self._pods is None:
            by_pool: dict[str, list[Obj]] = {"controller": [], "broker": []}
            for pod in self.ctx.kube.list_objects("Pod", self.namespace, self.selector):
                pool = pod["metadata"].get("labels", {}).get(names.LABEL_POOL)
                if pool in by_pool:
                    by_pool[pool].append(pod)
            self._pods = Pods(by_pool["controller"], by_pool["broker"])
            self.data.brokers = self._pods.broker_list()
        return self._pods

    def pod_conditions(self) -> list[status.Condition]:
        """ControllersReady and BrokersReady, once the pods were listed."""
        if self._pods is None:
            return []
        c, gen = self.cluster, self.cluster.generation
        out = []
        for type_, ready, want, pool in (
            ("ControllersReady", self._pods.ready_controllers, c.controller_count, "controller"),
            ("BrokersReady", self._pods.ready_brokers, c.broker_count, "broker"),
        ):
            ok = ready >= want
            reason = "PodsReady" if ok else "PodsNotReady"
            out.append(
                status.condition(type_, ok, reason, f"{ready}/{want} {pool} pods ready", gen)
            )
        return out

    def admin(self) -> KafkaAdmin:
        """An Admin client of the brokers (from the health step on)."""
        return self.ctx.admin(self.bootstrap, self.password)
