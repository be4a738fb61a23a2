"""GET /metrics: Prometheus text whose request counters and latency histograms move by exactly
the requests made, labelled by route template (never the raw path), method and status; the
endpoint itself is not in the OpenAPI schema."""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.api.conftest import ADMIN

pytestmark = pytest.mark.anyio

Series = tuple[str, str, str]  # method, route, status


async def scrape(client: httpx.AsyncClient) -> tuple[dict[Series, float], dict[Series, float]]:
    """(request counts, latency observation counts) by series; also checks the histograms."""
    r = await client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=")  # exposition format
    counts: dict[Series, float] = {}
    observed: dict[Series, float] = {}
    sums: dict[Series, float] = {}
    for family in text_string_to_metric_families(r.text):
        for sample in family.samples:
            labels = sample.labels
            if "route" not in labels:
                continue
            key = (labels["method"], labels["route"], labels["status"])
            if sample.name == "kplane_api_requests_total":
                counts[key] = sample.value
            elif sample.name == "kplane_api_request_duration_seconds_count":
                observed[key] = sample.value
            elif sample.name == "kplane_api_request_duration_seconds_sum":
                sums[key] = sample.value
    assert observed.keys() == counts.keys()
    assert all(sums[key] > 0 for key in observed if observed[key] > 0)
    return counts, observed


def moved(before: dict[Series, float], after: dict[Series, float]) -> dict[Series, float]:
    keys = before.keys() | after.keys()
    return {
        k: after.get(k, 0) - before.get(k, 0) for k in keys if after.get(k, 0) != before.get(k, 0)
    }


async def test_counters_move_by_exactly_the_requests_made(client: httpx.AsyncClient) -> None:
    counts_before, observed_before = await scrape(client)
    project = f"m{uuid.uuid4().hex[:10]}"
    missing = [f"n{uuid.uuid4().hex[:10]}" for _ in range(2)]
    for _ in range(3):
        assert (await client.get("/healthz")).status_code == 200
    r = await client.post(f"/v1/projects?project_id={project}", json={}, headers=ADMIN)
    assert r.status_code == 200, r.text
    assert (await client.get(f"/v1/projects/{project}", headers=ADMIN)).status_code == 200
    for name in missing:  # two raw paths, one series
        assert (await client.get(f"/v1/projects/{name}", headers=ADMIN)).status_code == 404
    assert (await client.get(f"/v1/projects/{project}")).status_code == 401
    # A router with a prefix, a custom verb and a {name:path} converter: the whole template.
    acl = f"/v1/projects/{project}/clusters/c/acls/topic:{project}:addAclEntry"
    assert (await client.post(acl, json={})).status_code == 401
    assert (await client.get(f"/no/such/{project}")).status_code == 404
    assert (await client.request("BREW", "/healthz")).status_code == 405

    counts_after, observed_after = await scrape(client)
    expected = {
        ("GET", "/healthz", "200"): 3,
        ("POST", "/v1/projects", "200"): 1,
        ("GET", "/v1/projects/{project}", "200"): 1,
        ("GET", "/v1/projects/{project}", "404"): 2,
        ("GET", "/v1/projects/{project}", "401"): 1,
        ("POST", "/v1/projects/{project}/clusters/{cluster}/acls/{acl_id}:addAclEntry", "401"): 1,
        ("GET", "UNMATCHED", "404"): 1,
        ("OTHER", "/healthz", "405"): 1,
        # the first scrape, answered before the second one read the counters
        ("GET", "/metrics", "200"): 1,
    }
    assert moved(counts_before, counts_after) == expected
    assert moved(observed_before, observed_after) == expected
    # Bounded cardinality: no raw path (nor any id from one) became a label.
    text = (await client.get("/metrics")).text
    for raw in (project, *missing):
        assert raw not in text


async def test_oversized_body_counts_as_413_unmatched(client: httpx.AsyncClient) -> None:
    before, _ = await scrape(client)
    r = await client.post(
        "/v1/projects?project_id=x", content=b"x" * (2 * 1024 * 1024), headers=ADMIN
    )
    assert r.status_code == 413
    after, _ = await scrape(client)
    assert moved(before, after) == {
        ("POST", "UNMATCHED", "413"): 1,
        ("GET", "/metrics", "200"): 1,
    }


def test_metrics_is_not_in_the_openapi_schema(app: FastAPI) -> None:
    paths = app.openapi()["paths"]
    assert "/metrics" not in paths
    assert "/v1/projects/{project}" in paths
