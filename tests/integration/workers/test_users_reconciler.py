"""The user reconciler on a real, migrated Postgres and a real Kafka cluster: a user row
becomes a SCRAM-SHA-512 credential a client logs in with, and its client quotas; a new
password replaces the credential, a deleted user can no longer log in; the pass after each
writes nothing to Kafka, Kubernetes or Postgres."""

from __future__ import annotations

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from app.core.secrets import ADMIN_USERNAME, encrypt, scram_sha512
from app.models import ResourceStatus, User
from app.models.base import utcnow
from devstack.kafka import wait_for
from tests.integration.workers.conftest import SharedKafka, run_pass, seed_cluster
from workers.adapters.kafka_admin import ConfluentAdmin
from workers.outcome import Ready
from workers.reconcilers import users


def _set_password(u: User, password: str) -> None:
    material = scram_sha512(password, iterations=4096)
    u.scram_salt, u.scram_iterations = material.salt, material.iterations
    u.scram_stored_key, u.scram_server_key = material.stored_key, material.server_key
    u.password_ciphertext = encrypt(password)


def _user(name: str, password: str, quotas: dict[str, float]) -> User:
    u = User(project_id="p", cluster_id="c", user_id=name, quotas=quotas)
    _set_password(u, password)
    return u


def _logs_in(kafka: SharedKafka, user: str, password: str) -> bool:
    client = AdminClient({**kafka.local.client_config(user, password), "log_level": 0})
    try:
        client.list_topics(timeout=3)
    except KafkaException:
        return False
    return True


def _quotas(kafka: SharedKafka) -> dict[str, dict[str, float]]:
    admin = ConfluentAdmin(kafka.local.bootstrap_servers, ADMIN_USERNAME, kafka.password)
    try:
        return {u: dict(q) for u, q in admin.user_quotas().items() if q}
    finally:
        admin.close()


def test_credentials_and_quotas_converge_and_a_second_pass_writes_nothing(
    engine: Engine, kafka: SharedKafka
) -> None:
    with Session(engine) as session:
        c = seed_cluster(session, kafka)
        for u in (
            _user("alice", "alice-pw-1", {"producer_byte_rate": 1048576}),
            _user("bob", "bob-pw-1", {}),
        ):
            u.cluster_uid = c.uid
            session.add(u)
        session.commit()

    first = run_pass(engine, users.reconcile, kafka.uid)
    assert isinstance(first.outcome, Ready), first.outcome
    assert first.kafka_writes > 0 and first.postgres_xid is not None
    wait_for(lambda: _logs_in(kafka, "alice", "alice-pw-1"), 30, "alice to log in")
    assert _logs_in(kafka, "bob", "bob-pw-1")
    assert not _logs_in(kafka, "alice", "wrong-password")
    wait_for(
        lambda: _quotas(kafka) == {"alice": {"producer_byte_rate": 1048576.0}},
        20,
        "alice's quota",
    )
    with Session(engine) as session:
        data = {
            s.data.get("password_version")
            for s in session.scalars(select(ResourceStatus).where(ResourceStatus.kind == "user"))
        }
    assert data == {1}

    second = run_pass(engine, users.reconcile, kafka.uid)
    assert isinstance(second.outcome, Ready), second.outcome
    assert (second.kafka_writes, second.kube_writes, second.postgres_xid) == (0, 0, None)

    # A new password and no quota for alice; bob deleted.
    with Session(engine) as session:
        alice = session.scalars(select(User).where(User.user_id == "alice")).one()
        _set_password(alice, "alice-pw-2")
        alice.password_version, alice.quotas = 2, {}
        alice.generation += 1
        bob = session.scalars(select(User).where(User.user_id == "bob")).one()
        bob.delete_time = utcnow()
        session.commit()
    changed = run_pass(engine, users.reconcile, kafka.uid)
    assert isinstance(changed.outcome, Ready), changed.outcome
    assert changed.kafka_writes > 0
    wait_for(lambda: _logs_in(kafka, "alice", "alice-pw-2"), 30, "alice's new password")
    wait_for(lambda: not _logs_in(kafka, "bob", "bob-pw-1"), 30, "bob locked out")
    assert not _logs_in(kafka, "alice", "alice-pw-1")
    wait_for(lambda: _quotas(kafka) == {}, 20, "alice's quota removed")
    with Session(engine) as session:
        assert [u.user_id for u in session.scalars(select(User))] == ["alice"]
    again = run_pass(engine, users.reconcile, kafka.uid)
    assert (again.kafka_writes, again.kube_writes, again.postgres_xid) == (0, 0, None)
