"""Readers of AIP-193 error bodies for the API tests: the ErrorInfo reason, the BadRequest
field violations."""

from __future__ import annotations


def reason(r: object) -> str:
    body = r.json()  # type: ignore[attr-defined]
    return str(body["error"]["details"][0]["reason"])


def violations(r: object) -> dict[str, str]:
    details = r.json()["error"]["details"]  # type: ignore[attr-defined]
    found = [d for d in details if d["@type"] == "BadRequest"]
    return {v["field"]: v["description"] for v in found[0]["field_violations"]} if found else {}
