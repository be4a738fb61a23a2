"""Lists (AIP-132/158/160): page size, signed page tokens, a documented filter subset, ordering.

Pages are keyset-based (last sort value + uid), so a page costs the same at any depth and rows
written between two calls neither repeat nor vanish. A page token is HMAC-signed and bound to
the caller and the query (parent, filter, order_by): a tampered or mismatched token is a 400.

Filter grammar — terms joined by ` AND `:
  name = "orders-*"       (exact id, or a prefix with a trailing `*`)
  state = ACTIVE          (collections of reconciled resources; also done = true|false, role = ...)
  labels.<key> = "value"  /  labels.<key>:*   (label equals / label present)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, TypeAlias

import orjson
from fastapi import Query
from sqlalchemy import ColumnElement, Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute

from app.core.errors import invalid_field
from app.core.settings import get_settings

# Any SELECT, whatever its row shape (Select is variadic in SQLAlchemy 2.1).
AnySelect: TypeAlias = "Select[*tuple[Any, ...]]"

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000

_TERM = re.compile(
    r"^\s*(?P<field>[a-z_]+(?:\.[A-Za-z0-9_./-]+)?)\s*"
    r'(?:(?P<op>=|!=)\s*(?P<value>"(?:[^"\\]|\\.)*"|[A-Za-z0-9_.-]+)|(?P<has>:\s*\*))\s*$'
)


@dataclass(frozen=True)
class ListParams:
    page_size: int
    page_token: str
    filter: str
    order_by: str


async def list_params(
    page_size: Annotated[int | None, Query(description="At most 1000; default 50.")] = None,
    page_token: Annotated[str, Query(max_length=2000)] = "",
    filter: Annotated[str, Query(max_length=2000, description="See the API guide.")] = "",
    order_by: Annotated[str, Query(max_length=200)] = "",
) -> ListParams:
    if page_size is None or page_size == 0:
        size = DEFAULT_PAGE_SIZE
    elif page_size < 0:
        raise invalid_field("page_size", "must not be negative")
    else:
        size = min(page_size, MAX_PAGE_SIZE)
    return ListParams(size, page_token, filter.strip(), order_by.strip())


@dataclass(frozen=True)
class Collection:
    """How one collection may be filtered and ordered, as SQL expressions."""

    id_column: InstrumentedAttribute[Any]
    uid_column: InstrumentedAttribute[Any]
    order_fields: Mapping[str, Any]
    default_order: str
    filters: Mapping[str, Callable[[str], ColumnElement[bool]]]
    labels_column: InstrumentedAttribute[Any] | None = None


def _unquote(raw: str) -> str:
    if raw.startswith('"'):
        return raw[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return raw


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def filter_clauses(collection: Collection, expression: str) -> list[ColumnElement[bool]]:
    if not expression:
        return []
    clauses: list[ColumnElement[bool]] = []
    for term in re.split(r"\s+AND\s+", expression):
        match = _TERM.match(term)
        if not match:
            raise invalid_field("filter", f"cannot parse {term!r}; see the documented grammar")
        field = match["field"]
        if field.startswith("labels."):
            if collection.labels_column is None:
                raise invalid_field("filter", "this collection has no labels")
            key = field.removeprefix("labels.")
            if match["has"]:
                clauses.append(collection.labels_column.has_key(key))
            elif match["op"] == "=":
                clauses.append(collection.labels_column[key].astext == _unquote(match["value"]))
            else:
                clauses.append(
                    or_(
                        ~collection.labels_column.has_key(key),
                        collection.labels_column[key].astext != _unquote(match["value"]),
                    )
                )
            continue
        if match["has"]:
            raise invalid_field("filter", f"':*' applies only to labels, not {field!r}")
        value = _unquote(match["value"])
        if field == "name":
            clause: ColumnElement[bool] = (
                collection.id_column.like(_like_prefix(value[:-1]), escape="\\")
                if value.endswith("*")
                else collection.id_column == value
            )
        elif field in collection.filters:
            clause = collection.filters[field](value)
        else:
            allowed = ", ".join(["name", "labels.<key>", *collection.filters])
            raise invalid_field("filter", f"unknown field {field!r}; filterable: {allowed}")
        clauses.append(~clause if match["op"] == "!=" else clause)
    return clauses


def _order(collection: Collection, order_by: str) -> tuple[str, bool]:
    text_ = order_by or collection.default_order
    parts = text_.split()
    if (
        not parts
        or len(parts) > 2
        or parts[0] not in collection.order_fields
        or (len(parts) == 2 and parts[1] not in ("asc", "desc"))
    ):
        allowed = ", ".join(collection.order_fields)
        raise invalid_field("order_by", f"must be one of {allowed}, optionally followed by desc")
    return parts[0], len(parts) == 2 and parts[1] == "desc"


def _sign(payload: bytes) -> str:
    key = get_settings().secret_key.encode()
    return hmac.new(key, payload, hashlib.sha256).hexdigest()[:32]


def _fingerprint(principal: str, parent: str, params: ListParams) -> str:
    raw = orjson.dumps([principal, parent, params.filter, params.order_by])
    return hashlib.sha256(raw).hexdigest()[:16]


def encode_token(fingerprint: str, last: tuple[Any, Any]) -> str:
    value, uid = last
    payload = orjson.dumps(
        {
            "f": fingerprint,
            "v": value.isoformat() if isinstance(value, datetime) else value,
            "u": str(uid),
            "t": isinstance(value, datetime),
        }
    )
    return base64.urlsafe_b64encode(payload).decode().rstrip("=") + "." + _sign(payload)


def decode_token(token: str, fingerprint: str) -> tuple[Any, str]:
    bad = invalid_field("page_token", "is invalid, or belongs to another query or caller")
    body, _, signature = token.partition(".")
    try:
        payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except ValueError:
        raise bad from None
    if not hmac.compare_digest(_sign(payload), signature):
        raise bad
    try:
        data = orjson.loads(payload)
        value = datetime.fromisoformat(data["v"]) if data["t"] else data["v"]
        if data["f"] != fingerprint:
            raise bad
        return value, str(data["u"])
    except (ValueError, KeyError, TypeError):
        raise bad from None


@dataclass
class Page:
    rows: list[Any]
    next_page_token: str


def paginate(
    query: AnySelect,
    collection: Collection,
    params: ListParams,
    principal: str,
    parent: str,
    sort_value: Any,
) -> tuple[AnySelect, Any]:
    """Apply filter, order and keyset to `query`; returns the query and a page finisher."""
    field, desc = _order(collection, params.order_by)
    column = collection.order_fields[field]
    query = query.where(*filter_clauses(collection, params.filter))
    fingerprint = _fingerprint(principal, parent, params)
    if params.page_token:
        value, uid = decode_token(params.page_token, fingerprint)
        uid_col = collection.uid_column
        if desc:
            query = query.where(or_(column < value, and_(column == value, uid_col < uid)))
        else:
            query = query.where(or_(column > value, and_(column == value, uid_col > uid)))
    if desc:
        query = query.order_by(column.desc(), collection.uid_column.desc())
    else:
        query = query.order_by(column.asc(), collection.uid_column.asc())
    query = query.limit(params.page_size + 1)

    def finish(rows: list[Any]) -> Page:
        if len(rows) <= params.page_size:
            return Page(rows, "")
        rows = rows[: params.page_size]
        last = rows[-1]
        token = encode_token(fingerprint, (sort_value(last, field), sort_value(last, "uid")))
        return Page(rows, token)

    return query, finish
