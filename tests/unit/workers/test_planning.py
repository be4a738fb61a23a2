"""Pure tests of the topic diff, the ACL set difference and the SCRAM user plan."""

from __future__ import annotations

import uuid

from workers.planning import acls, topics, users


def topic(name: str, **kw: object) -> topics.DesiredTopic:
    values: dict[str, object] = {
        "uid": uuid.uuid5(uuid.NAMESPACE_DNS, name),
        "name": name,
        "partitions": 3,
        "replication_factor": 3,
        "configs": {},
        "generation": 1,
        "observed_generation": 0,
    }
    values.update(kw)
    return topics.DesiredTopic(**values)  # type: ignore[arg-type]


def test_topics_create_missing_leave_unmanaged_alone() -> None:
    plan = topics.plan(
        [topic("a"), topic("b")],
        {"b": topics.ObservedTopic(3, 3, {}), "not-ours": topics.ObservedTopic(1, 1, {"x": "y"})},
    )
    assert [t.name for t in plan.create] == ["a"]
    assert not plan.alter and not plan.delete and not plan.partitions
    assert not plan.drift


def test_topics_converged_is_empty() -> None:
    want = topic("a", configs={"retention.ms": "1000", "cleanup.policy": "compact,delete"})
    seen = topics.ObservedTopic(3, 3, {"retention.ms": "1000", "cleanup.policy": "delete,compact"})
    assert topics.plan([want], {"a": seen}).empty


def test_topics_config_partitions_and_drift() -> None:
    want = topic("a", partitions=6, configs={"retention.ms": "1000"}, observed_generation=1)
    seen = topics.ObservedTopic(3, 3, {"retention.ms": "5", "segment.ms": "100"})
    plan = topics.plan([want], {"a": seen})
    assert plan.partitions == {"a": 6}
    assert plan.alter["a"].set == {"retention.ms": "1000"}
    assert plan.alter["a"].delete == ["segment.ms"]
    assert want.uid in plan.drift  # it had converged: this is an out-of-band change


def test_topics_new_generation_is_not_drift() -> None:
    want = topic("a", configs={"retention.ms": "1000"}, generation=2, observed_generation=1)
    plan = topics.plan([want], {"a": topics.ObservedTopic(3, 3, {})})
    assert plan.alter and not plan.drift


def test_topics_cannot_shrink() -> None:
    want = topic("a", observed_generation=1)
    plan = topics.plan([want], {"a": topics.ObservedTopic(5, 3, {})})
    assert plan.empty and want.uid in plan.blocked


def test_topics_delete_and_gone() -> None:
    present, absent = topic("a", deleting=True), topic("b", deleting=True)
    plan = topics.plan([present, absent], {"a": topics.ObservedTopic(3, 3, {})})
    assert plan.delete == ["a"] and plan.gone == [absent.uid] and not plan.create


def test_topics_unknown_observation_plans_nothing() -> None:
    assert topics.plan([topic("a")], {"a": None}).empty


def binding(name: str, principal: str = "User:u", op: str = "READ") -> acls.Binding:
    return acls.Binding("TOPIC", name, "LITERAL", principal, "*", op, "ALLOW")


def acl(name: str, entries: list[dict[str, str]], deleting: bool = False) -> acls.DesiredAcl:
    return acls.DesiredAcl(uuid.uuid4(), "TOPIC", name, "LITERAL", entries, deleting)


def test_acls_set_difference_among_managed_patterns() -> None:
    desired = [acl("t", [{"principal": "User:u", "operation": "READ"}])]
    observed = {binding("t", op="WRITE"), binding("other", op="READ")}
    plan = acls.plan(desired, observed)
    assert plan.create == [binding("t")]
    assert plan.delete == [binding("t", op="WRITE")]  # "other" is not kplane's


def test_acls_converged_and_deleting() -> None:
    entry = {"principal": "User:u", "operation": "READ", "host": "*", "permission_type": "ALLOW"}
    assert acls.plan([acl("t", [entry])], {binding("t")}).empty
    gone = acl("t", [entry], deleting=True)
    plan = acls.plan([gone], {binding("t")})
    assert plan.delete == [binding("t")] and plan.gone == [gone.uid]


def user(
    name: str, version: int = 1, applied: int = 0, deleting: bool = False
) -> users.DesiredUser:
    return users.DesiredUser(uuid.uuid4(), name, version, applied, {}, deleting)


def test_users_plan() -> None:
    new, current, rotated = user("new"), user("cur", 1, 1), user("rot", 2, 1)
    plan = users.plan([new, current, rotated], {"cur", "rot"})
    assert [u.name for u in plan.upsert] == ["new", "rot"]
    missing_on_broker = user("lost", 1, 1)
    assert [u.name for u in users.plan([missing_on_broker], set()).upsert] == ["lost"]
    deleting = user("old", deleting=True)
    plan = users.plan([deleting], {"old"})
    assert plan.delete == ["old"] and plan.gone == [deleting.uid]


def test_quota_change() -> None:
    assert users.quota_change({"producer_byte_rate": 100}, {}) == {"producer_byte_rate": 100.0}
    assert users.quota_change({}, {"producer_byte_rate": 5.0}) == {"producer_byte_rate": None}
    assert users.quota_change({"producer_byte_rate": 5}, {"producer_byte_rate": 5.0}) == {}


def test_users_plan_quotas_touch_only_managed_users_and_keys() -> None:
    limited = users.DesiredUser(uuid.uuid4(), "limited", 1, 1, {"producer_byte_rate": 2048})
    cleared = users.DesiredUser(uuid.uuid4(), "cleared", 1, 1, {})
    current = users.DesiredUser(uuid.uuid4(), "current", 1, 1, {"request_percentage": 50.0})
    leaving = users.DesiredUser(uuid.uuid4(), "leaving", 1, 1, {}, deleting=True)
    on_brokers = {
        "cleared": {"consumer_byte_rate": 4096.0, "controller_mutation_rate": 5.0},
        "current": {"request_percentage": 50.0},
        "leaving": {"producer_byte_rate": 1024.0, "controller_mutation_rate": 5.0},
        "someone-else": {"producer_byte_rate": 1024.0},
    }
    plan = users.plan(
        [limited, cleared, current, leaving], {"limited", "cleared", "current"}, on_brokers
    )
    assert plan.quotas == {
        "limited": {"producer_byte_rate": 2048.0},
        "cleared": {"consumer_byte_rate": None},
        "leaving": {"producer_byte_rate": None},
    }
    converged = {
        "limited": {"producer_byte_rate": 2048.0},
        "current": {"request_percentage": 50.0},
        "cleared": {"controller_mutation_rate": 5.0},
    }
    assert users.plan(
        [limited, cleared, current], {"limited", "cleared", "current"}, converged
    ).empty
