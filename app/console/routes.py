"""The console's pages and form handlers under /console. Each URL mirrors the /v1 path of what it
shows (`/console/projects/p/clusters/c/topics/t`); every read and write is one or a few /v1 calls
as the signed-in user; a mutation answers with a redirect to the page that shows its result."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote, urlencode, urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.routing import APIRoute
from starlette.datastructures import FormData
from starlette.responses import FileResponse, Response

from app.console import charts, forms
from app.console.api import Api, ApiFailure
from app.console.render import HERE, Exit, failure_page, op_id, page, see_other
from app.console.session import (
    CSRF_FIELD,
    CSRF_HEADER,
    OneTimeSecret,
    Role,
    Session,
    clear_session,
    csrf_ok,
    new_session,
    read_session,
    stash_secret,
    take_secret,
    write_session,
)

PAGE_SIZE = "50"
STATIC = {
    "htmx.min.js": "text/javascript",
    "axe.min.js": "text/javascript",
    "console.js": "text/javascript",
    "console.css": "text/css",
}


class ConsoleRoute(APIRoute):
    """Turns the handlers' early exits and API failures into HTML answers."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except Exit as exit_:
                return exit_.response
            except ApiFailure as failure:
                if failure.status == 401:
                    response = see_other("/console/signin")
                    clear_session(response)
                    return response
                return failure_page(request, read_session(request), failure)

        return run


router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsoleRoute)


async def signed_in(request: Request) -> Session:
    session = read_session(request)
    if session is None:
        raise Exit(see_other("/console/signin?" + urlencode({"next": request.url.path})))
    return session


SessionDep = Annotated[Session, Depends(signed_in)]


async def checked_form(request: Request, session: SessionDep) -> FormData:
    """The posted form, once its CSRF token (field or X-CSRF-Token header) matches the session."""
    form = await request.form()
    sent = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
    if not csrf_ok(session, sent if isinstance(sent, str) else None):
        failure = ApiFailure(
            403, "PERMISSION_DENIED", "missing or wrong CSRF token; reload the page"
        )
        raise Exit(failure_page(request, session, failure))
    return form


FormDep = Annotated[FormData, Depends(checked_form)]


def api_of(request: Request, session: Session) -> Api:
    return Api(request, session.token)


def with_op(url: str, operation: dict[str, Any]) -> str:
    """`url` noting the Operation a mutation started, so the page links to its progress."""
    return f"{url}?{urlencode({'operation': op_id(operation)})}" if operation.get("name") else url


async def current_operation(api: Api, project: str, target: str) -> dict[str, Any] | None:
    ops = await api.get(
        f"projects/{project}/operations",
        filter=f'target = "{target}" AND done = false',
        page_size="1",
    )
    found = ops.get("operations") or []
    return found[0] if found else None


async def noted_operation(api: Api, project: str, request: Request) -> dict[str, Any] | None:
    name = request.query_params.get("operation", "")
    if not name:
        return None
    reply = await api.call("GET", f"projects/{project}/operations/{quote(name)}")
    return reply.body if reply.ok else None


# --- static files, sign-in and sign-out ------------------------------------------------------


@router.get("/static/{name}")
async def static(name: str) -> Response:
    if name not in STATIC:
        return Response("not found", status_code=404, media_type="text/plain")
    return FileResponse(
        HERE / "static" / name,
        media_type=STATIC[name],
        headers={"Cache-Control": "public, max-age=3600"},
    )


@router.get("")
@router.get("/")
async def home(request: Request) -> Response:
    session = read_session(request)
    if session is None:
        return see_other("/console/signin")
    return see_other(
        f"/console/projects/{session.project}" if session.project else "/console/projects"
    )


@router.get("/signin")
async def signin_form(request: Request) -> Response:
    return page(request, "signin.html", None, next=request.query_params.get("next", ""))


async def probe_role(api: Api) -> tuple[Role, str | None] | None:
    """What the token may do, asked of the API itself (it has no "who am I"): a project token
    gets 403 for another project, only owners list tokens, and cancelling an operation that does
    not exist is refused with 403 to a viewer and with 404 to an editor (one audit record)."""
    listed = await api.call("GET", "projects", params={"page_size": "1"})
    if not listed.ok:
        return None
    if (await api.call("GET", "projects/-console-probe-")).status != 403:
        return "admin", None
    projects = listed.body.get("projects") or []
    if not projects:
        return None
    project = str(projects[0]["name"]).rsplit("/", 1)[-1]
    if (await api.call("GET", f"projects/{project}/tokens", params={"page_size": "1"})).ok:
        return "owner", project
    probe = await api.call("POST", f"projects/{project}/operations/-console-role-probe-:cancel")
    return ("viewer" if probe.status == 403 else "editor"), project


def same_origin(request: Request) -> bool:
    """False for a post that a browser says came from another site (a login-CSRF attempt)."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")


@router.post("/signin")
async def signin(request: Request) -> Response:
    if not same_origin(request):
        failure = ApiFailure(403, "PERMISSION_DENIED", "sign-in must come from the console's page")
        return failure_page(request, None, failure)
    form = await request.form()
    token = forms.text(form, "token")
    target = forms.text(form, "next")
    found = await probe_role(Api(request, token)) if token else None
    if found is None:
        return page(
            request, "signin.html", None, 401, next=target, error="the API refused this token"
        )
    role, project = found
    session = new_session(token, role, project)
    home_url = f"/console/projects/{project}" if project else "/console/projects"
    response = see_other(target if target.startswith("/console/") else home_url)
    write_session(response, request, session)
    return response


@router.post("/signout")
async def signout(form: FormDep) -> Response:
    response = see_other("/console/signin")
    clear_session(response)
    return response


# --- projects and clusters -------------------------------------------------------------------


@router.get("/projects")
async def projects(request: Request, session: SessionDep) -> Response:
    api = api_of(request, session)
    body = await api.get(
        "projects", page_size=PAGE_SIZE, page_token=request.query_params.get("page_token", "")
    )
    return page(request, "projects.html", session, projects=body.get("projects", []), list=body)


@router.get("/projects/{project}")
async def project_page(request: Request, session: SessionDep, project: str) -> Response:
    api = api_of(request, session)
    body = await api.get(
        f"projects/{project}/clusters",
        page_size=PAGE_SIZE,
        page_token=request.query_params.get("page_token", ""),
    )
    versions = await api.get("kafka_versions")
    return page(
        request,
        "project.html",
        session,
        project=project,
        clusters=body.get("clusters", []),
        list=body,
        versions=versions.get("kafka_versions", []),
        operation=await noted_operation(api, project, request),
        errors={},
        values={},
    )


@router.post("/projects/{project}/clusters")
async def create_cluster(
    request: Request, session: SessionDep, form: FormDep, project: str
) -> Response:
    api = api_of(request, session)
    cluster_id = forms.text(form, "cluster_id")
    body = forms.drop_none(
        {
            "kafka_version": forms.text(form, "kafka_version") or None,
            "broker_count": forms.number(form, "broker_count"),
            "controller_count": forms.number(form, "controller_count"),
            "storage_gib": forms.number(form, "storage_gib"),
            "broker_resources": forms.drop_none(
                {
                    "cpu": forms.number(form, "broker_resources.cpu"),
                    "memory_gib": forms.number(form, "broker_resources.memory_gib"),
                }
            )
            or None,
        }
    )
    reply = await api.call(
        "POST", f"projects/{project}/clusters", params={"cluster_id": cluster_id}, json=body
    )
    if reply.ok:
        return see_other(with_op(f"/console/projects/{project}/clusters/{cluster_id}", reply.body))
    failure = ApiFailure.of(reply)
    if failure.status != 400:
        raise failure
    listed = await api.get(f"projects/{project}/clusters", page_size=PAGE_SIZE)
    versions = await api.get("kafka_versions")
    return page(
        request,
        "project.html",
        session,
        400,
        project=project,
        clusters=listed.get("clusters", []),
        list=listed,
        versions=versions.get("kafka_versions", []),
        operation=None,
        failure=failure,
        errors=failure.violations,
        values=dict(form.multi_items()),
    )


@router.get("/projects/{project}/clusters/{cluster}")
async def cluster_page(
    request: Request, session: SessionDep, project: str, cluster: str
) -> Response:
    return await cluster_view(request, session, project, cluster)


async def cluster_view(
    request: Request,
    session: Session,
    project: str,
    cluster: str,
    failure: ApiFailure | None = None,
) -> Response:
    """The cluster page; after a refused change, with the API's field errors at their inputs."""
    errors = failure.violations if failure else {}
    api = api_of(request, session)
    path = f"projects/{project}/clusters/{cluster}"
    body = await api.get(path)
    versions = {
        v["version"]: v for v in (await api.get("kafka_versions")).get("kafka_versions", [])
    }
    upgradable = versions.get(body.get("kafka_version", ""), {}).get("upgradable_to", [])
    operation = await noted_operation(api, project, request) or await current_operation(
        api, project, path
    )
    return page(
        request,
        "cluster.html",
        session,
        failure.status if failure else 200,
        project=project,
        cluster=body,
        cluster_id=cluster,
        operation=operation,
        upgradable_to=upgradable,
        days=forms.DAYS,
        properties=forms.client_properties(str(body.get("bootstrap_servers", ""))),
        config_text="\n".join(f"{k}={v}" for k, v in sorted((body.get("config") or {}).items())),
        failure=failure,
        errors=errors,
        config_errors=[(f, d) for f, d in errors.items() if f.split(".")[0] == "config"],
    )


CLUSTER_FIELDS = {
    "broker_count",
    "storage_gib",
    "kafka_version",
    "config",
    "maintenance_window",
    "deletion_protection",
}


@router.post("/projects/{project}/clusters/{cluster}")
async def update_cluster(
    request: Request, session: SessionDep, form: FormDep, project: str, cluster: str
) -> Response:
    """One of the cluster page's forms: scale, storage, upgrade, config or maintenance window."""
    mask = forms.text(form, "update_mask")
    if mask not in CLUSTER_FIELDS:
        raise ApiFailure(400, "INVALID_ARGUMENT", f"the console cannot update {mask!r}")
    value: Any
    if mask == "config":
        value = forms.key_values(forms.text(form, "config"))
    elif mask == "maintenance_window":
        value = {
            "day_of_week": forms.text(form, "maintenance_window.day_of_week"),
            "start_time": forms.text(form, "maintenance_window.start_time"),
            "duration_hours": forms.number(form, "maintenance_window.duration_hours"),
        }
    elif mask == "kafka_version":
        value = forms.text(form, "kafka_version")
    elif mask == "deletion_protection":
        value = forms.text(form, "deletion_protection") == "true"
    else:
        value = forms.number(form, mask)
    api = api_of(request, session)
    reply = await api.call(
        "PATCH",
        f"projects/{project}/clusters/{cluster}",
        params={"update_mask": mask},
        json={mask: value, "etag": forms.text(form, "etag") or None},
    )
    if reply.ok:
        return see_other(with_op(f"/console/projects/{project}/clusters/{cluster}", reply.body))
    failure = ApiFailure.of(reply)
    if failure.status != 400:
        raise failure
    return await cluster_view(request, session, project, cluster, failure)


# --- topics ----------------------------------------------------------------------------------


def name_filter(prefix: str, state: str) -> str:
    """A list's `filter`: a name prefix and a state, the terms topics and groups both take."""
    terms = []
    if prefix:
        terms.append('name = "' + prefix.replace("\\", "\\\\").replace('"', '\\"') + '*"')
    if state:
        terms.append(f"state = {state}")
    return " AND ".join(terms)


def next_page_url(prefix: str, state: str, body: dict[str, Any]) -> str:
    """The query of a filtered list's next page; empty on the last page."""
    token = str(body.get("next_page_token", ""))
    if not token:
        return ""
    query = {"name": prefix, "state": state, "page_token": token}
    return "?" + urlencode({k: v for k, v in query.items() if v})


@dataclass(frozen=True)
class TopicRow:
    """What one row of the topics table shows, prepared once (a page renders 50 of them)."""

    topic_id: str
    url: str
    state: str
    partition_count: int
    replication_factor: int
    configs: str


def topic_row(topic: dict[str, Any]) -> TopicRow:
    name = str(topic.get("name", ""))
    return TopicRow(
        topic_id=name.rsplit("/", 1)[-1],
        url=f"/console/{name}",
        state=str(topic.get("state", "")),
        partition_count=int(topic.get("partition_count") or 0),
        replication_factor=int(topic.get("replication_factor") or 0),
        configs=" ".join(f"{k}={v}" for k, v in (topic.get("configs") or {}).items()),
    )


async def topics_context(request: Request, api: Api, project: str, cluster: str) -> dict[str, Any]:
    query = request.query_params
    prefix, state = query.get("name", "").strip(), query.get("state", "").strip()
    body = await api.get(
        f"projects/{project}/clusters/{cluster}/topics",
        filter=name_filter(prefix, state),
        page_size=PAGE_SIZE,
        page_token=query.get("page_token", ""),
    )
    return {
        "project": project,
        "cluster_id": cluster,
        "topics": [topic_row(t) for t in body.get("topics", [])],
        "prefix": prefix,
        "state": state,
        "next_url": next_page_url(prefix, state, body),
        "paged": bool(query.get("page_token")),
        "config_inputs": forms.TOPIC_CONFIG_INPUTS,
        "errors": {},
        "values": {},
        "failure": None,
    }


@router.get("/projects/{project}/clusters/{cluster}/topics")
async def topics(request: Request, session: SessionDep, project: str, cluster: str) -> Response:
    api = api_of(request, session)
    context = await topics_context(request, api, project, cluster)
    if "HX-Request" in request.headers:
        return page(request, "topic_rows.html", session, **context)
    context["operation"] = await noted_operation(api, project, request)
    return page(request, "topics.html", session, **context)


@router.post("/projects/{project}/clusters/{cluster}/topics")
async def create_topic(
    request: Request, session: SessionDep, form: FormDep, project: str, cluster: str
) -> Response:
    api = api_of(request, session)
    topic_id = forms.text(form, "topic_id")
    body = forms.drop_none(
        {
            "partition_count": forms.number(form, "partition_count"),
            "replication_factor": forms.number(form, "replication_factor"),
            "configs": forms.topic_configs(form),
        }
    )
    reply = await api.call(
        "POST",
        f"projects/{project}/clusters/{cluster}/topics",
        params={"topic_id": topic_id},
        json=body,
    )
    base = f"/console/projects/{project}/clusters/{cluster}/topics"
    if reply.ok:
        return see_other(with_op(f"{base}/{topic_id}", reply.body))
    failure = ApiFailure.of(reply)
    if failure.status not in (400, 409):
        raise failure
    context = await topics_context(request, api, project, cluster)
    errors = dict(failure.violations)
    if failure.status == 409:
        errors["topic_id"] = failure.message
    context.update(failure=failure, errors=errors, values=dict(form.multi_items()), operation=None)
    return page(request, "topics.html", session, failure.status, **context)


@router.get("/projects/{project}/clusters/{cluster}/topics/{topic}")
async def topic_page(
    request: Request, session: SessionDep, project: str, cluster: str, topic: str
) -> Response:
    api = api_of(request, session)
    body = await api.get(f"projects/{project}/clusters/{cluster}/topics/{topic}")
    return page(
        request,
        "topic.html",
        session,
        project=project,
        cluster_id=cluster,
        topic=body,
        topic_id=topic,
        operation=await noted_operation(api, project, request),
        config_inputs=forms.TOPIC_CONFIG_INPUTS,
        other_configs={
            k: v for k, v in (body.get("configs") or {}).items() if k not in forms.TYPED_KEYS
        },
        errors={},
        failure=None,
    )


@router.post("/projects/{project}/clusters/{cluster}/topics/{topic}")
async def update_topic(
    request: Request, session: SessionDep, form: FormDep, project: str, cluster: str, topic: str
) -> Response:
    """Edit configs (the whole map, typed inputs plus the untyped ones kept) or add partitions."""
    api = api_of(request, session)
    path = f"projects/{project}/clusters/{cluster}/topics/{topic}"
    mask = forms.text(form, "update_mask")
    if mask == "partition_count":
        body: dict[str, Any] = {"partition_count": forms.number(form, "partition_count")}
    elif mask == "configs":
        current = await api.get(path)
        kept = {
            k: v for k, v in (current.get("configs") or {}).items() if k not in forms.TYPED_KEYS
        }
        body = {"configs": {**kept, **forms.topic_configs(form)}}
    else:
        raise ApiFailure(400, "INVALID_ARGUMENT", f"the console cannot update {mask!r}")
    body["etag"] = forms.text(form, "etag") or None
    reply = await api.call("PATCH", path, params={"update_mask": mask}, json=body)
    url = f"/console/{path}"
    if reply.ok:
        return see_other(with_op(url, reply.body))
    failure = ApiFailure.of(reply)
    if failure.status != 400:
        raise failure
    current = await api.get(path)
    return page(
        request,
        "topic.html",
        session,
        400,
        project=project,
        cluster_id=cluster,
        topic=current,
        topic_id=topic,
        operation=None,
        config_inputs=forms.TOPIC_CONFIG_INPUTS,
        other_configs={
            k: v for k, v in (current.get("configs") or {}).items() if k not in forms.TYPED_KEYS
        },
        errors=failure.violations,
        failure=failure,
    )


@router.get("/projects/{project}/clusters/{cluster}/topics/{topic}/delete")
async def confirm_delete_topic(
    request: Request, session: SessionDep, project: str, cluster: str, topic: str
) -> Response:
    api = api_of(request, session)
    body = await api.get(f"projects/{project}/clusters/{cluster}/topics/{topic}")
    return page(
        request,
        "topic_delete.html",
        session,
        project=project,
        cluster_id=cluster,
        topic=body,
        topic_id=topic,
        error="",
    )


@router.post("/projects/{project}/clusters/{cluster}/topics/{topic}/delete")
async def delete_topic(
    request: Request, session: SessionDep, form: FormDep, project: str, cluster: str, topic: str
) -> Response:
    api = api_of(request, session)
    path = f"projects/{project}/clusters/{cluster}/topics/{topic}"
    if forms.text(form, "topic_id") != topic:
        body = await api.get(path)
        return page(
            request,
            "topic_delete.html",
            session,
            400,
            project=project,
            cluster_id=cluster,
            topic=body,
            topic_id=topic,
            error=f"type the topic's name, {topic}, to delete it",
        )
    operation = await api.ok("DELETE", path, params={"etag": forms.text(form, "etag")})
    return see_other(with_op(f"/console/projects/{project}/clusters/{cluster}/topics", operation))


# --- ACLs ------------------------------------------------------------------------------------


def by_principal(
    acls: list[dict[str, Any]],
) -> dict[str, list[tuple[dict[str, Any], dict[str, Any]]]]:
    """Every entry of every ACL, grouped by principal: {principal: [(acl, entry)]}."""
    groups: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
    for acl in acls:
        for entry in acl.get("acl_entries") or []:
            groups.setdefault(str(entry.get("principal")), []).append((acl, entry))
    return dict(sorted(groups.items()))


def acl_id_of(acl: dict[str, Any]) -> str:
    return str(acl.get("name", "")).split("/acls/", 1)[-1]


async def acls_page(
    request: Request,
    session: Session,
    project: str,
    cluster: str,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    api = api_of(request, session)
    body = await api.get(
        f"projects/{project}/clusters/{cluster}/acls",
        page_size="1000",
        page_token=request.query_params.get("page_token", ""),
    )
    context: dict[str, Any] = {
        "project": project,
        "cluster_id": cluster,
        "groups": by_principal(body.get("acls", [])),
        "acl_id_of": acl_id_of,
        "list": body,
        "operations": forms.ACL_OPERATIONS,
        "operation": await noted_operation(api, project, request),
        "failure": None,
        "errors": {},
        "values": {},
    }
    context.update(extra)
    return page(request, "acls.html", session, status_code, **context)


@router.get("/projects/{project}/clusters/{cluster}/acls")
async def acls(request: Request, session: SessionDep, project: str, cluster: str) -> Response:
    return await acls_page(request, session, project, cluster)


@router.post("/projects/{project}/clusters/{cluster}/acls")
async def add_acl_entries(
    request: Request, session: SessionDep, form: FormDep, project: str, cluster: str
) -> Response:
    """Add one entry, or the entries of a preset ("producer", "consumer") for a topic or prefix."""
    api = api_of(request, session)
    principal = forms.text(form, "principal")
    preset = forms.text(form, "preset")
    if preset in ("producer", "consumer"):
        grants = forms.preset_grants(
            preset,
            forms.text(form, "pattern_type"),
            forms.text(form, "resource_name"),
            forms.text(form, "consumer_group"),
        )
    else:
        grants = [forms.AclGrant(forms.text(form, "acl_id"), forms.text(form, "operation"))]
    last: dict[str, Any] = {}
    for grant in grants:
        entry = {
            "principal": principal,
            "operation": grant.operation,
            "permission_type": forms.text(form, "permission_type") or "ALLOW",
            "host": forms.text(form, "host") or "*",
        }
        reply = await api.call(
            "POST",
            f"projects/{project}/clusters/{cluster}/acls/{grant.acl_id}:addAclEntry",
            json=entry,
        )
        if not reply.ok:
            failure = ApiFailure.of(reply)
            if failure.status not in (400, 404):
                raise failure
            errors = {k.removeprefix("acl_entry."): v for k, v in failure.violations.items()}
            return await acls_page(
                request,
                session,
                project,
                cluster,
                failure.status,
                failure=failure,
                errors=errors,
                values=dict(form.multi_items()),
            )
        last = reply.body
    return see_other(with_op(f"/console/projects/{project}/clusters/{cluster}/acls", last))


@router.post("/projects/{project}/clusters/{cluster}/acls/remove")
async def remove_acl_entry(
    request: Request, session: SessionDep, form: FormDep, project: str, cluster: str
) -> Response:
    api = api_of(request, session)
    entry = {
        "principal": forms.text(form, "principal"),
        "operation": forms.text(form, "operation"),
        "permission_type": forms.text(form, "permission_type"),
        "host": forms.text(form, "host"),
    }
    acl_id = forms.text(form, "acl_id")
    operation = await api.ok(
        "POST", f"projects/{project}/clusters/{cluster}/acls/{acl_id}:removeAclEntry", json=entry
    )
    return see_other(with_op(f"/console/projects/{project}/clusters/{cluster}/acls", operation))


@router.get("/projects/{project}/clusters/{cluster}/acls/{acl_id:path}")
async def acl_page(
    request: Request, session: SessionDep, project: str, cluster: str, acl_id: str
) -> Response:
    api = api_of(request, session)
    body = await api.get(f"projects/{project}/clusters/{cluster}/acls/{acl_id}")
    return page(
        request, "acl.html", session, project=project, cluster_id=cluster, acl=body, acl_id=acl_id
    )


# --- users -----------------------------------------------------------------------------------


def quotas_of(form: FormData) -> dict[str, Any]:
    return forms.drop_none(
        {
            key: forms.number(form, f"quotas.{key}")
            for key in ("producer_byte_rate", "consumer_byte_rate", "request_percentage")
        }
    )


@router.get("/projects/{project}/clusters/{cluster}/users")
async def users(request: Request, session: SessionDep, project: str, cluster: str) -> Response:
    api = api_of(request, session)
    body = await api.get(
        f"projects/{project}/clusters/{cluster}/users",
        page_size=PAGE_SIZE,
        page_token=request.query_params.get("page_token", ""),
    )
    return page(
        request,
        "users.html",
        session,
        project=project,
        cluster_id=cluster,
        users=body.get("users", []),
        list=body,
        operation=await noted_operation(api, project, request),
        failure=None,
        errors={},
        values={},
    )


@router.post("/projects/{project}/clusters/{cluster}/users")
async def create_user(
    request: Request, session: SessionDep, form: FormDep, project: str, cluster: str
) -> Response:
    api = api_of(request, session)
    user_id = forms.text(form, "user_id")
    body = forms.drop_none(
        {"password": forms.text(form, "password") or None, "quotas": quotas_of(form)}
    )
    reply = await api.call(
        "POST",
        f"projects/{project}/clusters/{cluster}/users",
        params={"user_id": user_id},
        json=body,
    )
    if not reply.ok:
        failure = ApiFailure.of(reply)
        if failure.status not in (400, 409):
            raise failure
        listed = await api.get(f"projects/{project}/clusters/{cluster}/users", page_size=PAGE_SIZE)
        errors = dict(failure.violations)
        if failure.status == 409:
            errors["user_id"] = failure.message
        values = {k: v for k, v in form.multi_items() if k != "password"}
        return page(
            request,
            "users.html",
            session,
            failure.status,
            project=project,
            cluster_id=cluster,
            users=listed.get("users", []),
            list=listed,
            operation=None,
            failure=failure,
            errors=errors,
            values=values,
        )
    url = f"/console/projects/{project}/clusters/{cluster}/users/{user_id}"
    response = see_other(with_op(url, reply.body))
    stash_secret(response, request, OneTimeSecret(url, "password", str(reply.body.get("password"))))
    return response


@router.get("/projects/{project}/clusters/{cluster}/users/{user}")
async def user_page(
    request: Request, session: SessionDep, project: str, cluster: str, user: str
) -> Response:
    api = api_of(request, session)
    body = await api.get(f"projects/{project}/clusters/{cluster}/users/{user}")
    bootstrap = (await api.get(f"projects/{project}/clusters/{cluster}")).get("bootstrap_servers")
    return page(
        request,
        "user.html",
        session,
        project=project,
        cluster_id=cluster,
        user=body,
        user_id=user,
        operation=await noted_operation(api, project, request),
        secret=take_secret(request),
        properties=forms.client_properties(str(bootstrap or ""), user),
    )


@router.post("/projects/{project}/clusters/{cluster}/users/{user}")
async def update_user(
    request: Request, session: SessionDep, form: FormDep, project: str, cluster: str, user: str
) -> Response:
    api = api_of(request, session)
    path = f"projects/{project}/clusters/{cluster}/users/{user}"
    operation = await api.ok(
        "PATCH",
        path,
        params={"update_mask": "quotas"},
        json={"quotas": quotas_of(form), "etag": forms.text(form, "etag") or None},
    )
    return see_other(with_op(f"/console/{path}", operation))


@router.post("/projects/{project}/clusters/{cluster}/users/{user}/rotate")
async def rotate_password(
    request: Request, session: SessionDep, form: FormDep, project: str, cluster: str, user: str
) -> Response:
    api = api_of(request, session)
    path = f"projects/{project}/clusters/{cluster}/users/{user}"
    operation = await api.ok("POST", f"{path}:rotatePassword", json={})
    url = f"/console/{path}"
    response = see_other(with_op(url, operation))
    stash_secret(response, request, OneTimeSecret(url, "password", str(operation.get("password"))))
    return response


@router.post("/projects/{project}/clusters/{cluster}/users/{user}/delete")
async def delete_user(
    request: Request, session: SessionDep, form: FormDep, project: str, cluster: str, user: str
) -> Response:
    api = api_of(request, session)
    operation = await api.ok("DELETE", f"projects/{project}/clusters/{cluster}/users/{user}")
    return see_other(with_op(f"/console/projects/{project}/clusters/{cluster}/users", operation))


# --- consumer groups ------------------------------------------------------------------------

LAG_HISTORY = timedelta(hours=1)


def group_path(project: str, cluster: str, group: str) -> str:
    """A group's path, its id quoted: a Kafka group id may hold any character."""
    return f"projects/{project}/clusters/{cluster}/consumer_groups/{quote(group, safe='')}"


@dataclass(frozen=True)
class GroupRow:
    """What one row of the consumer groups table shows."""

    group_id: str
    url: str
    state: str
    members: int
    protocol: str
    total_lag: int
    max_lag: int


def group_row(project: str, cluster: str, group: dict[str, Any]) -> GroupRow:
    group_id = str(group.get("group_id", ""))
    return GroupRow(
        group_id=group_id,
        url="/console/" + group_path(project, cluster, group_id),
        state=str(group.get("state", "")),
        members=len(group.get("members") or []),
        protocol=str(group.get("protocol", "")),
        total_lag=int(group.get("total_lag") or 0),
        max_lag=int(group.get("max_lag") or 0),
    )


@router.get("/projects/{project}/clusters/{cluster}/consumer_groups")
async def consumer_groups(
    request: Request, session: SessionDep, project: str, cluster: str
) -> Response:
    """Groups live from the brokers. A cluster without running brokers (400) or brokers that do
    not answer (503) is said on the page, under the cluster's tabs, with the API's status."""
    query = request.query_params
    prefix, state = query.get("name", "").strip(), query.get("state", "").strip()
    api = api_of(request, session)
    reply = await api.call(
        "GET",
        f"projects/{project}/clusters/{cluster}/consumer_groups",
        params={
            "filter": name_filter(prefix, state),
            "page_size": PAGE_SIZE,
            "page_token": query.get("page_token", ""),
        },
    )
    failure = None if reply.ok else ApiFailure.of(reply)
    if failure is not None and failure.status not in (400, 503):
        raise failure
    context = {
        "project": project,
        "cluster_id": cluster,
        "groups": [group_row(project, cluster, g) for g in reply.body.get("consumer_groups", [])],
        "prefix": prefix,
        "state": state,
        "states": forms.GROUP_STATES,
        "next_url": next_page_url(prefix, state, reply.body),
        "paged": bool(query.get("page_token")),
        "failure": failure,
        "errors": failure.violations if failure else {},
    }
    status = failure.status if failure else 200
    if "HX-Request" in request.headers:
        return page(request, "consumer_group_rows.html", session, status, **context)
    context["operation"] = await noted_operation(api, project, request)
    return page(request, "consumer_groups.html", session, status, **context)


async def group_view(
    request: Request,
    session: Session,
    project: str,
    cluster: str,
    group: str,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    """The group page (state, members, offsets, lag history), or with htmx only its live part;
    `extra` carries a reset's preview table or the API's refusal of one."""
    api = api_of(request, session)
    path = group_path(project, cluster, group)
    body = await api.get(path)
    since = (datetime.now(UTC) - LAG_HISTORY).isoformat(timespec="seconds")
    history = await api.get(f"{path}/lag_history", start_time=since)
    context: dict[str, Any] = {
        "project": project,
        "cluster_id": cluster,
        "group": body,
        "group_id": group,
        "group_url": f"/console/{path}",
        "chart": charts.lag_chart(history.get("samples") or []),
        "history_hours": int(LAG_HISTORY.total_seconds() // 3600),
    }
    if "HX-Request" in request.headers:
        return page(request, "consumer_group_live.html", session, **context)
    context.update(
        operation=await noted_operation(api, project, request)
        or await current_operation(api, project, str(body.get("name", ""))),
        preview=None,
        failure=None,
        errors={},
        values={},
        reset_fields=forms.RESET_FIELDS,
    )
    context.update(extra)
    return page(request, "consumer_group.html", session, status_code, **context)


@router.post("/projects/{project}/clusters/{cluster}/consumer_groups/{group:path}/reset")
async def reset_group_offsets(
    request: Request, session: SessionDep, form: FormDep, project: str, cluster: str, group: str
) -> Response:
    """With `validate_only`, the group page with the before/after table and a button that
    applies the same reset; without, the Operation that applies it."""
    validate_only = forms.text(form, "validate_only") == "true"
    path = group_path(project, cluster, group)
    reply = await api_of(request, session).call(
        "POST", f"{path}:resetOffsets", json=forms.reset_request(form, validate_only)
    )
    values = {k: v for k, v in form.multi_items() if k in forms.RESET_FIELDS}
    if reply.ok and not validate_only:
        return see_other(with_op(f"/console/{path}", reply.body))
    if reply.ok:
        return await group_view(
            request, session, project, cluster, group, preview=reply.body, values=values
        )
    failure = ApiFailure.of(reply)
    if failure.status != 400:
        raise failure
    # `topics[0].partitions` and the like are all said at the one `topics` input.
    errors = {("topics" if f.startswith("topics") else f): d for f, d in failure.violations.items()}
    return await group_view(
        request,
        session,
        project,
        cluster,
        group,
        400,
        failure=failure,
        errors=errors,
        values=values,
    )


@router.get("/projects/{project}/clusters/{cluster}/consumer_groups/{group:path}/delete")
async def confirm_delete_group(
    request: Request, session: SessionDep, project: str, cluster: str, group: str
) -> Response:
    return await delete_group_page(request, session, project, cluster, group)


async def delete_group_page(
    request: Request,
    session: Session,
    project: str,
    cluster: str,
    group: str,
    failure: ApiFailure | None = None,
) -> Response:
    body = await api_of(request, session).get(group_path(project, cluster, group))
    return page(
        request,
        "consumer_group_delete.html",
        session,
        failure.status if failure else 200,
        project=project,
        cluster_id=cluster,
        group=body,
        group_id=group,
        group_url="/console/" + group_path(project, cluster, group),
        failure=failure,
    )


@router.post("/projects/{project}/clusters/{cluster}/consumer_groups/{group:path}/delete")
async def delete_group(
    request: Request, session: SessionDep, form: FormDep, project: str, cluster: str, group: str
) -> Response:
    if forms.text(form, "group_id") != group:
        failure = ApiFailure(
            400,
            "INVALID_ARGUMENT",
            f"type the group's id, {group}, to delete it",
            {"group_id": f"type {group} to delete it"},
        )
        return await delete_group_page(request, session, project, cluster, group, failure)
    reply = await api_of(request, session).call("DELETE", group_path(project, cluster, group))
    if reply.ok:
        url = f"/console/projects/{project}/clusters/{cluster}/consumer_groups"
        return see_other(with_op(url, reply.body))
    failure = ApiFailure.of(reply)
    if failure.status != 400:
        raise failure
    return await delete_group_page(request, session, project, cluster, group, failure)


@router.get("/projects/{project}/clusters/{cluster}/consumer_groups/{group:path}")
async def group_page(
    request: Request, session: SessionDep, project: str, cluster: str, group: str
) -> Response:
    return await group_view(request, session, project, cluster, group)


# --- operations, audit log, tokens -----------------------------------------------------------


@router.get("/projects/{project}/operations")
async def operations(request: Request, session: SessionDep, project: str) -> Response:
    query = request.query_params
    done, verb = query.get("done", ""), query.get("verb", "").strip()
    terms = [f"done = {done}"] if done in ("true", "false") else []
    if verb:
        terms.append('verb = "' + verb.replace('"', "") + '"')
    api = api_of(request, session)
    body = await api.get(
        f"projects/{project}/operations",
        filter=" AND ".join(terms),
        page_size=PAGE_SIZE,
        page_token=query.get("page_token", ""),
    )
    next_token = str(body.get("next_page_token", ""))
    next_url = "?" + urlencode({"done": done, "verb": verb, "page_token": next_token})
    return page(
        request,
        "operations.html",
        session,
        project=project,
        operations=body.get("operations", []),
        done=done,
        verb=verb,
        next_url=next_url if next_token else "",
    )


@router.get("/projects/{project}/operations/{operation}")
async def operation_page(
    request: Request, session: SessionDep, project: str, operation: str
) -> Response:
    body = await api_of(request, session).get(f"projects/{project}/operations/{operation}")
    return page(request, "operation.html", session, project=project, operation=body)


@router.get("/projects/{project}/operations/{operation}/progress")
async def operation_progress(
    request: Request, session: SessionDep, project: str, operation: str
) -> Response:
    """The live progress box, polled by htmx: 204 (nothing to swap) while the etag is unchanged."""
    seen = request.query_params.get("etag", "")
    reply = await api_of(request, session).call(
        "GET",
        f"projects/{project}/operations/{operation}",
        headers={"If-None-Match": f'"{seen}"'} if seen else None,
    )
    if reply.status == 304 or (seen and reply.ok and reply.body.get("etag") == seen):
        return Response(status_code=204, headers={"Cache-Control": "no-store"})
    if not reply.ok:
        raise ApiFailure.of(reply)
    return page(request, "operation_box.html", session, project=project, operation=reply.body)


@router.get("/projects/{project}/audit_logs")
async def audit_logs(request: Request, session: SessionDep, project: str) -> Response:
    body = await api_of(request, session).get(
        f"projects/{project}/audit_logs",
        page_size=PAGE_SIZE,
        page_token=request.query_params.get("page_token", ""),
    )
    return page(
        request,
        "audit_logs.html",
        session,
        project=project,
        records=body.get("audit_logs", []),
        list=body,
    )


@router.get("/projects/{project}/tokens")
async def tokens(request: Request, session: SessionDep, project: str) -> Response:
    body = await api_of(request, session).get(
        f"projects/{project}/tokens",
        page_size=PAGE_SIZE,
        page_token=request.query_params.get("page_token", ""),
    )
    return page(
        request,
        "tokens.html",
        session,
        project=project,
        tokens=body.get("tokens", []),
        list=body,
        secret=take_secret(request),
        failure=None,
        errors={},
        values={},
    )


@router.post("/projects/{project}/tokens")
async def create_token(
    request: Request, session: SessionDep, form: FormDep, project: str
) -> Response:
    api = api_of(request, session)
    token_id = forms.text(form, "token_id")
    reply = await api.call(
        "POST",
        f"projects/{project}/tokens",
        params={"token_id": token_id},
        json={"role": forms.text(form, "role")},
    )
    url = f"/console/projects/{project}/tokens"
    if not reply.ok:
        failure = ApiFailure.of(reply)
        if failure.status not in (400, 409):
            raise failure
        listed = await api.get(f"projects/{project}/tokens", page_size=PAGE_SIZE)
        errors = dict(failure.violations)
        if failure.status == 409:
            errors["token_id"] = failure.message
        return page(
            request,
            "tokens.html",
            session,
            failure.status,
            project=project,
            tokens=listed.get("tokens", []),
            list=listed,
            secret=None,
            failure=failure,
            errors=errors,
            values=dict(form.multi_items()),
        )
    response = see_other(url)
    stash_secret(
        response,
        request,
        OneTimeSecret(url, f"secret of {token_id}", str(reply.body.get("secret"))),
    )
    return response


@router.post("/projects/{project}/tokens/{token}/delete")
async def delete_token(
    request: Request, session: SessionDep, form: FormDep, project: str, token: str
) -> Response:
    await api_of(request, session).ok("DELETE", f"projects/{project}/tokens/{token}")
    return see_other(f"/console/projects/{project}/tokens")
