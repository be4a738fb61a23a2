"""PURE: the rolling-restart plan of one cluster, from facts the roller step gathered.

Rules (the Kafka-aware roll): one pod at a time; controllers first, the active controller last
and only when a majority of the other controllers is caught up with the metadata log; then
brokers, never one whose restart would take a partition below its `min.insync.replicas`, and
never while any partition is under-replicated. After a restart the next one waits until the
restarted pod is Ready and, for a broker, back in every ISR it belongs to. A kplane-initiated
patch (a new image build, nothing the user changed) starts only inside the maintenance window.
Once every node runs the new version, metadata.version is finalized as a step of its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

PENDING = "PENDING"
RESTARTING = "RUNNING"  # the API's step state for "in progress"
DONE = "DONE"
BLOCKED = "BLOCKED"

ActionKind = Literal["delete", "wait", "blocked", "finalize", "window", "cancelled", "done"]
DAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")


@dataclass(frozen=True)
class PodFacts:
    """One controller or broker pod as Kubernetes and the roller step see it."""

    name: str
    pool: str  # "controller" | "broker"
    node_id: int
    ready: bool
    # Runs the StatefulSet's current template (its revision is the update revision).
    current: bool
    # Carries a change the user asked for (else only a kplane patch, gated by the window).
    user_change: bool = True
    deleting: bool = False
    # Why its container cannot start (e.g. "ImageNotRunnable: ..."), if it cannot.
    cannot_start: str = ""


@dataclass(frozen=True)
class PartitionFacts:
    topic: str
    partition: int
    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    min_isr: int


@dataclass(frozen=True)
class QuorumFacts:
    """The KRaft metadata quorum: its leader (the active controller) and each voter's lag."""

    leader_id: int
    lag: Mapping[int, int]  # voter id -> records behind the leader's high watermark


@dataclass(frozen=True)
class Finalize:
    """metadata.version: the level the cluster has finalized and the one to finalize to."""

    finalized: int
    target: int
    target_name: str


@dataclass(frozen=True)
class Step:
    name: str
    state: str
    message: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "state": self.state, "message": self.message}


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    reason: str
    pod: str = ""


@dataclass(frozen=True)
class RollPlan:
    steps: list[Step]
    action: Action
    done: int = 0
    total: int = 0

    @property
    def status_message(self) -> str:
        if self.action.kind == "blocked":
            return f"blocked: {self.action.reason}"
        return self.action.reason

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 100


@dataclass(frozen=True)
class RollInput:
    pods: Sequence[PodFacts]
    # None when the quorum could not be described (then no controller is restarted).
    quorum: QuorumFacts | None = None
    # None when the partitions could not be described (then no broker is restarted).
    partitions: Sequence[PartitionFacts] | None = None
    cancel: bool = False
    window_open: bool = True
    window_next: datetime | None = None
    finalize: Finalize | None = None
    # A voter at most this many records behind the leader counts as caught up.
    max_lag: int = 1000


def step_name(pod: PodFacts) -> str:
    return f"{pod.pool} {pod.name}"


def _order(pod: PodFacts, leader: int | None) -> tuple[int, int, int]:
    # Controllers before brokers; the active controller after every other controller.
    return (0 if pod.pool == "controller" else 1, int(pod.node_id == leader), pod.node_id)


def _out_of_isr(pod: PodFacts, partitions: Sequence[PartitionFacts] | None) -> list[str]:
    if pod.pool != "broker" or partitions is None:
        return []
    return [
        f"{p.topic}-{p.partition}"
        for p in partitions
        if pod.node_id in p.replicas and pod.node_id not in p.isr
    ]


def _under_replicated(partitions: Sequence[PartitionFacts]) -> list[PartitionFacts]:
    return [p for p in partitions if len(p.isr) < len(p.replicas)]


def broker_blocker(node_id: int, partitions: Sequence[PartitionFacts]) -> str:
    """Why broker `node_id` may not restart now ("" when it may)."""
    for p in partitions:
        # A partition whose replication factor is not above min.insync.replicas can never keep
        # acks=all writes through any broker's restart; it would block every roll forever.
        if node_id in p.isr and len(p.replicas) > p.min_isr and len(p.isr) - 1 < p.min_isr:
            return (
                f"restarting broker {node_id} would take {p.topic}-{p.partition} below "
                f"min.insync.replicas={p.min_isr} (ISR {list(p.isr)})"
            )
    under = _under_replicated(partitions)
    if under:
        p = under[0]
        more = f" (and {len(under) - 1} more)" if len(under) > 1 else ""
        return (
            f"partition {p.topic}-{p.partition} is under-replicated: ISR {list(p.isr)} of "
            f"replicas {list(p.replicas)}{more}"
        )
    return ""


def controller_blocker(pod: PodFacts, quorum: QuorumFacts | None, max_lag: int) -> str:
    """Why controller `pod` may not restart now ("" when it may)."""
    if quorum is None:
        return "the controller quorum could not be described"
    voters = set(quorum.lag) | {quorum.leader_id}
    others = sorted(v for v in voters if v != pod.node_id)
    caught_up = [v for v in others if quorum.lag.get(v, 0) <= max_lag or v == quorum.leader_id]
    if pod.node_id == quorum.leader_id:
        if not others:
            # The only controller: no other to wait for (its restart is a short metadata
            # outage the cluster's shape accepts; the brokers keep serving meanwhile).
            return ""
        need = len(others) // 2 + 1
        if len(caught_up) < need:
            return (
                f"the active controller {pod.node_id} waits until a majority of the other "
                f"controllers is caught up ({len(caught_up)} of {len(others)})"
            )
        return ""
    # A follower's restart must leave a majority of all voters caught up (the leader counts).
    need = len(voters) // 2 + 1
    if len(caught_up) < need:
        lagging = [v for v in others if v not in caught_up]
        return f"controllers {lagging} are not caught up with the metadata log"
    return ""


def plan(given: RollInput) -> RollPlan:
    """The roll's steps and the one next action."""
    leader = given.quorum.leader_id if given.quorum is not None else None
    pods = sorted(given.pods, key=lambda p: _order(p, leader))
    steps: dict[str, Step] = {}
    restarting: list[tuple[PodFacts, str]] = []
    cannot: list[tuple[PodFacts, str]] = []
    pending: list[PodFacts] = []
    done = 0
    for pod in pods:
        name = step_name(pod)
        out = _out_of_isr(pod, given.partitions)
        if pod.cannot_start:
            cannot.append((pod, pod.cannot_start))
            steps[name] = Step(name, BLOCKED, f"cannot start: {pod.cannot_start}")
        elif pod.deleting or (pod.current and not pod.ready):
            restarting.append((pod, "waiting for the pod to be Ready"))
            steps[name] = Step(name, RESTARTING, "waiting for the pod to be Ready")
        elif not pod.current:
            pending.append(pod)
            steps[name] = Step(name, PENDING)
        elif out:
            why = f"waiting for it to rejoin the ISR of {len(out)} partition(s)"
            restarting.append((pod, why))
            steps[name] = Step(name, RESTARTING, why)
        else:
            done += 1
            steps[name] = Step(name, DONE)
    total = len(pods) + (1 if given.finalize is not None else 0)
    fin_name = f"finalize metadata.version {given.finalize.target_name}" if given.finalize else ""

    def result(action: Action, final_state: str = PENDING, final_message: str = "") -> RollPlan:
        # Shown in a stable order (pool, node id) whatever the roll order is.
        out = [steps[step_name(p)] for p in sorted(pods, key=lambda p: _order(p, None))]
        if given.finalize is not None:
            out.append(Step(fin_name, final_state, final_message))
        return RollPlan(out, action, done, total)

    if cannot:
        pod, why = cannot[0]
        return result(Action("blocked", f"{pod.name} cannot start: {why}", pod.name))
    if restarting:
        pod, why = restarting[0]
        return result(Action("wait", f"restarting {pod.name}: {why}", pod.name))
    eligible = [p for p in pending if p.user_change or given.window_open]
    if pending and not eligible:
        nxt = given.window_next.strftime("%Y-%m-%dT%H:%M:%SZ") if given.window_next else "none"
        message = f"waiting for the maintenance window (next: {nxt})"
        for p in pending:
            steps[step_name(p)] = Step(step_name(p), PENDING, message)
        return result(Action("window", message))
    if eligible and given.cancel:
        return result(Action("cancelled", f"cancelled with {len(eligible)} pod(s) not restarted"))
    if eligible:
        pod = eligible[0]
        if pod.pool == "controller":
            why = controller_blocker(pod, given.quorum, given.max_lag)
        elif given.partitions is None:
            why = "the partitions could not be described"
        else:
            why = broker_blocker(pod.node_id, given.partitions)
        if why:
            steps[step_name(pod)] = Step(step_name(pod), BLOCKED, why)
            return result(Action("blocked", why, pod.name))
        steps[step_name(pod)] = Step(step_name(pod), RESTARTING, "restarting")
        return result(Action("delete", f"restarting {pod.name}", pod.name))
    fin = given.finalize
    if fin is not None and fin.finalized < fin.target:
        return result(
            Action("finalize", f"finalizing metadata.version {fin.target_name}"),
            RESTARTING,
            f"level {fin.finalized} -> {fin.target}",
        )
    if fin is not None:
        done += 1
    return result(Action("done", "every pod runs the current template"), DONE)


def window_state(window: Mapping[str, Any] | None, now: datetime) -> tuple[bool, datetime | None]:
    """(is `now` inside the weekly window, the next window start after `now`), all in UTC.

    No window means a patch may start at any time. A window may cross midnight or the end of
    the week (e.g. Sunday 22:00 for 4 hours ends Monday 02:00).
    """
    if not window:
        return True, None
    hour, minute = (int(x) for x in str(window["start_time"]).split(":"))
    day = DAYS.index(str(window["day_of_week"]))
    length = timedelta(hours=int(window["duration_hours"]))
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    this_week = midnight + timedelta(days=day - now.weekday(), hours=hour, minutes=minute)
    starts = [this_week + timedelta(weeks=k) for k in (-1, 0, 1)]
    is_open = any(s <= now < s + length for s in starts)
    upcoming = min(s for s in starts if s > now)
    return is_open, upcoming
