"""The CLI's only HTTP code: one `Client` over httpx for the /v1 API.

Every mutation carries an `Idempotency-Key` (a fresh UUID per command), and the client's own
retries of that mutation reuse it, so a retried create can never create twice. Retries happen
on 429 and 503 (and on the 409 the API answers while the same key is still in flight), honouring
`Retry-After`, and on connection failures. Any other non-2xx answer becomes an `ApiError`
carrying the status, the ErrorInfo reason and the message of the API's error body.
"""

from __future__ import annotations

import ssl
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from cli.errors import ApiError, Body

# `import httpx` also imports httpx's own command line (httpx._main: click, Rich's progress
# and syntax, Pygments) whenever those are installed: ~40% of httpx's import time, for a tool
# kplane never runs. With None in sys.modules that import fails, and httpx goes on without it.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
import httpx  # noqa: E402

__all__ = ["ApiError", "Body", "Client", "Params", "retry_delay"]

RETRIED_STATUSES = frozenset({429, 503})
MAX_RETRY_AFTER = 30.0
TRANSPORT_ATTEMPTS = 3
Params = Mapping[str, str | int | bool | None]


def retry_delay(response: httpx.Response | None, attempt: int) -> float:
    """Seconds to wait before the next attempt: the server's `Retry-After` when it gives one
    in seconds, else an exponential backoff from 0.5 s; never more than 30 s."""
    header = response.headers.get("Retry-After") if response is not None else None
    try:
        seconds = float(header) if header is not None else 0.5 * 2**attempt
    except ValueError:
        seconds = 0.5 * 2**attempt
    return max(0.0, min(seconds, MAX_RETRY_AFTER))


def _should_retry(response: httpx.Response) -> bool:
    if response.status_code in RETRIED_STATUSES:
        return True
    # 409 + Retry-After: the same idempotency key is still being served; it will answer soon.
    return response.status_code == 409 and "Retry-After" in response.headers


def _tls(endpoint: str) -> ssl.SSLContext | bool:
    """httpx's default TLS context, built when the client is, loads certifi's whole CA bundle
    (~40 ms of every run). An http:// endpoint never uses TLS (the client sends only paths
    relative to it and follows no redirect), so it gets a context that trusts no CA at all:
    were it ever used, it would refuse the connection, never accept it unverified."""
    if endpoint.startswith("https://"):
        return True
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


class Client:
    """A session with one kplane API endpoint."""

    def __init__(
        self,
        endpoint: str,
        token: str,
        *,
        timeout: float = 90.0,
        max_attempts: int = 6,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        headers = {"User-Agent": "kplane-cli", "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.endpoint = endpoint
        self.max_attempts = max_attempts
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=endpoint, headers=headers, timeout=timeout, verify=_tls(endpoint)
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(
        self,
        method: str,
        path: str,
        params: Params | None,
        json: object,
        headers: dict[str, str],
    ) -> httpx.Response:
        query = {k: v for k, v in (params or {}).items() if v is not None}
        attempt = 0
        while True:
            try:
                response = self._http.request(
                    method, path, params=query, json=json, headers=headers
                )
            except httpx.TransportError as e:
                attempt += 1
                # A refused connection is retried briefly (a server restarting), not for long.
                if attempt >= min(self.max_attempts, TRANSPORT_ATTEMPTS):
                    raise ApiError(
                        0, "UNAVAILABLE", f"cannot reach {self.endpoint}: {e}", "CONNECTION_FAILED"
                    ) from None
                self._sleep(retry_delay(None, attempt))
                continue
            attempt += 1
            if _should_retry(response) and attempt < self.max_attempts:
                self._sleep(retry_delay(response, attempt))
                continue
            return response

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: object = None,
        idempotency_key: str | None = None,
    ) -> Body:
        """One call; its JSON body on success, `ApiError` otherwise. Mutations (anything but
        GET) carry `idempotency_key`, a new UUID unless given."""
        headers: dict[str, str] = {}
        if method != "GET":
            headers["Idempotency-Key"] = idempotency_key or str(uuid.uuid4())
        response = self._send(method, path, params, json, headers)
        try:
            body = response.json() if response.content else {}
        except ValueError:
            body = None
        if response.is_success and isinstance(body, dict):
            return body
        text = response.text.strip()[:300] or response.reason_phrase
        if response.is_success:
            raise ApiError(response.status_code, "BAD_RESPONSE", f"not a JSON object: {text}")
        raise ApiError.from_body(response.status_code, body, text)

    def get(self, path: str, params: Params | None = None) -> Body:
        return self.request("GET", path, params=params)

    def pages(self, path: str, params: Params, limit: int | None, page_size: int) -> Iterator[Body]:
        """Follow `next_page_token` from the first page; with a `limit`, the last request asks
        for exactly what is left, so the last page's token resumes right after the limit."""
        taken = 0
        token = str(params.get("page_token") or "")
        while True:
            size = page_size if limit is None else min(page_size, limit - taken)
            page = self.get(path, {**params, "page_size": size, "page_token": token or None})
            yield page
            taken += sum(len(v) for v in page.values() if isinstance(v, list))
            token = str(page.get("next_page_token") or "")
            if not token or (limit is not None and taken >= limit):
                return

    def collect(
        self, path: str, key: str, params: Params, limit: int | None, page_size: int
    ) -> Body:
        """Every page as one body of the API's own shape: `{key: [...], next_page_token}`."""
        items: list[Any] = []
        token = ""
        for page in self.pages(path, params, limit, page_size):
            items.extend(page.get(key) or [])
            token = str(page.get("next_page_token") or "")
        return {key: items, "next_page_token": token}
