"""PURE: where partition replicas go when brokers join or leave a cluster.

Input: the current assignment (topic partition → replica broker ids, preferred leader first)
and the brokers that are to hold replicas afterwards. Output: the partitions whose replica list
changes and their new lists. Every topic is placed — internal and unmanaged topics too: a
broker being removed must end up empty whoever created the data.

The plan, deterministic and idempotent (planning its own result yields no move):
1. evacuate: each replica on a broker that is not kept goes to the least loaded kept broker
   not already holding the partition (another rack first, when racks are known);
2. balance replicas: while the most and the least loaded kept brokers differ by more than
   one replica, move one replica from the former to the latter (a follower rather than a
   leader) — each move is a needed one, so a scale-out moves about the minimum;
3. balance preferred leaders by reordering replica lists (no data moves): a partition led by
   a broker with too many leaders gets a follower with too few as its first replica.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

TopicPartition = tuple[str, int]
Assignment = Mapping[TopicPartition, Sequence[int]]

# Topic-level settings the scaling step sets on managed topics while their replicas move,
# and removes afterwards (topic planning leaves them alone).
THROTTLE_TOPIC_KEYS = (
    "leader.replication.throttled.replicas",
    "follower.replication.throttled.replicas",
)
THROTTLE_BROKER_KEYS = (
    "leader.replication.throttled.rate",
    "follower.replication.throttled.rate",
)


@dataclass(frozen=True)
class Placement:
    """The partitions whose replica list changes, with the new list (preferred leader first)."""

    moves: dict[TopicPartition, tuple[int, ...]]
    # Replicas that land on a broker that did not hold them: the data that must be copied.
    replicas_moved: int
    # Partitions whose replica set is unchanged and only the preferred leader differs.
    leaders_only: int

    @property
    def empty(self) -> bool:
        return not self.moves


def capacity_problem(assignment: Assignment, brokers: Collection[int]) -> str | None:
    """Why `brokers` cannot hold every partition at its replication factor, or None."""
    keep = set(brokers)
    if not keep:
        return "no broker would remain"
    worst: tuple[int, str] | None = None
    for (topic, _), replicas in sorted(assignment.items()):
        rf = len(set(replicas))
        if rf > len(keep) and (worst is None or rf > worst[0]):
            worst = (rf, topic)
    if worst is None:
        return None
    return (
        f"topic {worst[1]} has replication factor {worst[0]}; {len(keep)} broker(s) cannot hold it"
    )


def holding(assignment: Assignment, brokers: Collection[int]) -> dict[int, int]:
    """Replicas per broker of `brokers` (zero included)."""
    out = {b: 0 for b in brokers}
    for replicas in assignment.values():
        for b in replicas:
            if b in out:
                out[b] += 1
    return out


def leaders(assignment: Assignment, brokers: Collection[int]) -> dict[int, int]:
    """Preferred leaders per broker of `brokers` (zero included)."""
    out = {b: 0 for b in brokers}
    for replicas in assignment.values():
        if replicas and replicas[0] in out:
            out[replicas[0]] += 1
    return out


class _State:
    def __init__(
        self, assignment: Assignment, keep: list[int], racks: Mapping[int, str] | None
    ) -> None:
        self.keep = keep
        self.racks = dict(racks or {})
        self.target: dict[TopicPartition, list[int]] = {
            tp: list(r) for tp, r in sorted(assignment.items())
        }
        self.load = {b: 0 for b in keep}
        self.lead = {b: 0 for b in keep}
        self.members: dict[int, set[TopicPartition]] = {b: set() for b in keep}
        for tp, replicas in self.target.items():
            for i, b in enumerate(replicas):
                if b in self.load:
                    self._add(tp, b, i == 0)

    def _add(self, tp: TopicPartition, b: int, leader: bool) -> None:
        self.load[b] += 1
        self.members[b].add(tp)
        if leader:
            self.lead[b] += 1

    def _remove(self, tp: TopicPartition, b: int, leader: bool) -> None:
        self.load[b] -= 1
        self.members[b].discard(tp)
        if leader:
            self.lead[b] -= 1

    def _rack_clash(self, b: int, others: Sequence[int]) -> bool:
        rack = self.racks.get(b)
        return rack is not None and any(self.racks.get(o) == rack for o in others)

    def evacuate(self) -> None:
        kept = set(self.keep)
        for tp, replicas in self.target.items():
            for i, b in enumerate(replicas):
                if b in kept:
                    continue
                others = [o for o in replicas if o != b]
                candidates = [k for k in self.keep if k not in replicas]
                dest = min(
                    candidates,
                    key=lambda k: (
                        self._rack_clash(k, others),
                        self.load[k],
                        self.lead[k] if i == 0 else 0,
                        k,
                    ),
                )
                replicas[i] = dest
                self._add(tp, dest, i == 0)

    def balance_replicas(self) -> None:
        while True:
            hi = max(self.keep, key=lambda b: (self.load[b], -b))
            lo = min(self.keep, key=lambda b: (self.load[b], b))
            if self.load[hi] - self.load[lo] <= 1:
                return
            # Load differs by 2+, so at least two partitions hold `hi` and not `lo`.
            candidates = self.members[hi] - self.members[lo]

            def cost(tp: TopicPartition, hi: int = hi, lo: int = lo) -> tuple[bool, bool, str, int]:
                replicas = self.target[tp]
                others = [o for o in replicas if o != hi]
                return (self._rack_clash(lo, others), replicas[0] == hi, tp[0], tp[1])

            tp = min(candidates, key=cost)
            replicas = self.target[tp]
            i = replicas.index(hi)
            self._remove(tp, hi, i == 0)
            replicas[i] = lo
            self._add(tp, lo, i == 0)

    def balance_leaders(self) -> None:
        while True:
            swapped = False
            by_few = sorted(self.keep, key=lambda b: (self.lead[b], b))
            by_many = sorted(self.keep, key=lambda b: (-self.lead[b], b))
            for lo in by_few:
                for hi in by_many:
                    if self.lead[hi] - self.lead[lo] <= 1:
                        break
                    led = sorted(tp for tp in self.members[lo] if self.target[tp][0] == hi)
                    if not led:
                        continue
                    replicas = self.target[led[0]]
                    j = replicas.index(lo)
                    replicas[0], replicas[j] = lo, hi
                    self.lead[hi] -= 1
                    self.lead[lo] += 1
                    swapped = True
                    break
                if swapped:
                    break
            if not swapped:
                return


def plan(
    assignment: Assignment, brokers: Collection[int], racks: Mapping[int, str] | None = None
) -> Placement:
    """The target placement of every partition on `brokers` (see the module's docstring).
    Raises ValueError when `capacity_problem` finds a replication factor they cannot hold."""
    problem = capacity_problem(assignment, brokers)
    if problem is not None:
        raise ValueError(problem)
    state = _State(assignment, sorted(set(brokers)), racks)
    state.evacuate()
    state.balance_replicas()
    state.balance_leaders()
    moves: dict[TopicPartition, tuple[int, ...]] = {}
    copied = 0
    reordered = 0
    for tp, new in state.target.items():
        old = tuple(assignment[tp])
        if tuple(new) == old:
            continue
        moves[tp] = tuple(new)
        added = len(set(new) - set(old))
        copied += added
        reordered += added == 0
    return Placement(moves, copied, reordered)


def throttled_replicas(
    moves: Mapping[TopicPartition, Sequence[int]], assignment: Assignment
) -> dict[str, tuple[str, str]]:
    """Per topic, the values of `leader.replication.throttled.replicas` (the partitions'
    current replicas, which send) and `follower.replication.throttled.replicas` (the replicas
    being added, which fetch), in Kafka's `partition:broker,...` form."""
    leader: dict[str, list[str]] = {}
    follower: dict[str, list[str]] = {}
    for (topic, partition), new in sorted(moves.items()):
        old = list(assignment[(topic, partition)])
        added = [b for b in new if b not in old]
        if not added:
            continue
        leader.setdefault(topic, []).extend(f"{partition}:{b}" for b in old)
        follower.setdefault(topic, []).extend(f"{partition}:{b}" for b in added)
    return {t: (",".join(leader[t]), ",".join(follower[t])) for t in leader}
