"""The API's Prometheus metrics: requests counted and timed by route template and status, and
`GET /metrics` (Prometheus text exposition, outside the OpenAPI schema).

Requests are labelled by the route *template* (`/v1/projects/{project_id}/topics/{topic_id}`),
never by the raw path, and by a method from a fixed set: the number of series is bounded by the
routes the app declares, whatever paths clients send. A request no route matched (404, or one
refused before routing, such as a 413) is counted under the route `UNMATCHED`.

The API runs one process per pod (uvicorn without --workers), so the default registry of the
process is the pod's whole story; it also carries prometheus-client's process and GC metrics.
"""

from __future__ import annotations

from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.responses import Response
from starlette.types import Scope

UNMATCHED = "UNMATCHED"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_LABELS = ("method", "route", "status")

REQUESTS = Counter("kplane_api_requests", "HTTP requests answered by the API.", _LABELS)
LATENCY = Histogram(
    "kplane_api_request_duration_seconds",
    "Time from a request's arrival to its last response byte.",
    _LABELS,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)

router = APIRouter()


def route_template(scope: Scope) -> str:
    """The template of the route the router matched in this request's scope."""
    route = scope.get("route")
    # path_format is the template without converters: "{acl_id}", not "{acl_id:path}".
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template if isinstance(template, str) and template else UNMATCHED


# Each series' children, looked up once (`labels()` costs about as much as the update): as
# bounded as the series themselves.
_series: dict[tuple[str, str, str], tuple[Counter, Histogram]] = {}


def observe_request(scope: Scope, status: int, seconds: float) -> None:
    """Count one answered HTTP request (called by the request middleware once it ended)."""
    method = str(scope.get("method", ""))
    key = (method if method in _METHODS else "OTHER", route_template(scope), str(status))
    series = _series.get(key)
    if series is None:
        series = _series[key] = (REQUESTS.labels(*key), LATENCY.labels(*key))
    series[0].inc()
    series[1].observe(seconds)


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    # No authentication, like /healthz: scrapers reach it inside the cluster network; it
    # shows counts by route template, never a path, a query or a principal.
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
