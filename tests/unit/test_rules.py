"""Pure rules: ids, Kafka topic names, config allow-lists, derived state, update masks, page
tokens. No I/O."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from app.core.errors import ApiError
from app.core.ids import resource_id_violations, topic_collision_key, topic_name_violations
from app.core.kafka_config import BROKER_CONFIGS, TOPIC_CONFIGS, config_violations, kafka_versions
from app.core.pagination import decode_token, encode_token
from app.core.resource import check_etag, observed_fields, parse_update_mask


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("a", True),
        ("abc-1", True),
        ("a" * 63, True),
        ("a" * 64, False),
        ("1a", False),
        ("a-", False),
        ("A", False),
        ("", False),
        ("a_b", False),
    ],
)
def test_resource_ids(value: str, ok: bool) -> None:
    assert (resource_id_violations("id", value) == []) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("orders", True),
        ("a.b_c-D9", True),
        ("x" * 249, True),
        ("x" * 250, False),
        (".", False),
        ("..", False),
        ("__internal", False),
        ("_ok", True),
        ("a b", False),
        ("ä", False),
        ("", False),
        ("a/b", False),
    ],
)
def test_topic_names(value: str, ok: bool) -> None:
    assert (topic_name_violations("topic_id", value) == []) is ok


def test_collision_key_treats_dot_and_underscore_alike() -> None:
    assert topic_collision_key("a.b") == topic_collision_key("a_b")
    assert topic_collision_key("a.b") != topic_collision_key("a-b")


@pytest.mark.parametrize(
    ("key", "value", "ok"),
    [
        ("retention.ms", "-1", True),
        ("retention.ms", "-2", False),
        ("retention.ms", "1.5", False),
        ("cleanup.policy", "compact,delete", True),
        ("cleanup.policy", "compact,compact", False),
        ("min.cleanable.dirty.ratio", "0.5", True),
        ("min.cleanable.dirty.ratio", "NaN", False),
        ("min.cleanable.dirty.ratio", "2", False),
        ("unclean.leader.election.enable", "true", True),
        ("unclean.leader.election.enable", "yes", False),
        ("compression.type", "zstd", True),
        ("compression.type", "brotli", False),
        ("segment.bytes", "1048576", True),
        ("segment.bytes", "1", False),
        ("not.allowed", "1", False),
    ],
)
def test_topic_config_rules(key: str, value: str, ok: bool) -> None:
    assert (config_violations("configs", {key: value}, TOPIC_CONFIGS) == []) is ok


def test_config_values_must_be_strings() -> None:
    found = config_violations("config", {"num.io.threads": 8}, BROKER_CONFIGS)
    assert found and "string" in found[0].description


def test_kafka_versions_file_is_consistent() -> None:
    versions = kafka_versions()
    assert versions.default in versions.versions
    for v in versions.versions.values():
        assert all(target in versions.versions for target in v.upgradable_to)
    assert any(v.upgradable_to for v in versions.versions.values())


def _row(generation: int, deleting: bool = False) -> SimpleNamespace:
    now = datetime.now(UTC)
    return SimpleNamespace(
        uid=uuid.uuid4(),
        generation=generation,
        create_time=now,
        delete_time=now if deleting else None,
    )


def _status(observed: int, state: str = "ACTIVE") -> SimpleNamespace:
    return SimpleNamespace(
        observed_generation=observed,
        state=state,
        conditions=[{"type": "Ready", "status": "True"}],
        version=1,
    )


@pytest.mark.parametrize(
    ("generation", "status", "deleting", "state", "reconciling"),
    [
        (1, None, False, "CREATING", True),
        (1, _status(1), False, "ACTIVE", False),
        (2, _status(1), False, "UPDATING", True),
        (2, _status(2, "FAILED"), False, "FAILED", False),
        (3, _status(2, "FAILED"), False, "UPDATING", True),
        (2, _status(2), True, "DELETING", True),
    ],
)
def test_derived_state(
    generation: int, status: SimpleNamespace | None, deleting: bool, state: str, reconciling: bool
) -> None:
    fields = observed_fields(_row(generation, deleting), status)  # type: ignore[arg-type]
    assert fields["state"] == state
    assert fields["reconciling"] is reconciling
    assert any(c["type"] == "Ready" for c in fields["conditions"])


def test_update_mask() -> None:
    writable = {"a", "b", "labels"}
    assert parse_update_mask(None, {"a", "name"}, writable) == {"a"}
    assert parse_update_mask("*", set(), writable) == writable
    assert parse_update_mask("labels.env, b", set(), writable) == {"labels", "b"}
    with pytest.raises(ApiError) as err:
        parse_update_mask("a,state", set(), writable)
    assert err.value.code == 400


def test_etag_preconditions() -> None:
    check_etag("abc", "abc", None, '"abc"')
    check_etag("abc", None, None, "*")
    with pytest.raises(ApiError) as err:
        check_etag("abc", None, None, '"xyz"')
    assert err.value.code == 412
    with pytest.raises(ApiError) as err:
        check_etag("abc", "xyz", None, None)
    assert err.value.code == 409


def test_page_tokens_are_signed_and_bound() -> None:
    token = encode_token("fp", ("orders", uuid.UUID(int=7)))
    assert decode_token(token, "fp") == ("orders", str(uuid.UUID(int=7)))
    with pytest.raises(ApiError):
        decode_token(token, "other-query")
    body, _, sig = token.partition(".")
    with pytest.raises(ApiError):
        decode_token(body + "x." + sig, "fp")
    with pytest.raises(ApiError):
        decode_token("garbage", "fp")
    when = datetime(2026, 1, 2, tzinfo=UTC)
    assert decode_token(encode_token("fp", (when, uuid.UUID(int=1))), "fp")[0] == when
