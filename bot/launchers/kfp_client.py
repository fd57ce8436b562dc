"""``KfpConnection``: the one ``kfp.Client`` of a process, used only from a bounded thread pool.

kfp.Client is synchronous and sends requests without a timeout. Here every call runs in
``KFP_MAX_WORKERS`` threads, every HTTP request gets a (connect, read) timeout, urllib3 retries
connection failures only (a request that reached the server is never sent twice), and a 401 is
retried once when the credentials can rotate (the token file is re-read on every request).

The client is built on first use with auth exactly as kfp documents it: ``existing_token``,
``ServiceAccountTokenVolumeCredentials`` for a projected token file, or a raw ``cookies`` string. kfp
reads ``~/.config/kfp/context.json`` while it is built (a stray file there changes namespace and
auth); Charon points it at a file of its own that names ``KFP_NAMESPACE``, which also skips the
blocking health probe kfp makes when no namespace is known.
"""

import asyncio
import json
import logging
import re
import threading
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import kfp
import kfp_server_api
import urllib3
from kfp.client import client as kfp_client_module
from kfp.client.set_volume_credentials import ServiceAccountTokenVolumeCredentials

from bot.metrics import KFP_ERRORS, KFP_REQUESTS
from bot.redaction import redact
from bot.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")

_ID_SEGMENT = re.compile(r"/[0-9a-fA-F-]{8,}(?=[/:]|$)")
_CONNECT_TIMEOUT_S = 5.0


class KfpError(Exception):
    """A KFP call that failed: ``kind`` is ``http`` (``status`` and the server's ``detail`` say more),
    ``timeout``, ``unreachable`` or ``token`` (the token file could not be read)."""

    def __init__(self, kind: str, status: int | None = None, detail: str = "") -> None:
        super().__init__(f"{kind} {status or ''} {detail}".strip())
        self.kind = kind
        self.status = status
        self.detail = detail

    @property
    def transient(self) -> bool:
        """Worth asking again later: no answer, rate limited, or a server-side error."""
        return (
            self.kind in ("timeout", "unreachable") or self.status in (408, 429) or (self.status or 0) >= 500
        )


class KfpConnection:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.namespace = settings.kfp_namespace
        self._pool = ThreadPoolExecutor(max_workers=settings.kfp_max_workers, thread_name_prefix="kfp")
        self._client: kfp.Client | None = None
        self._build_lock = threading.Lock()
        self._rotating = settings.kfp_sa_token_path is not None and settings.kfp_existing_token is None

    async def call(self, request: Callable[[kfp.Client], T]) -> T:
        """``request(client)`` in the thread pool; raises :class:`KfpError` for every failure."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, self._invoke, request)
        except KfpError as exc:
            if exc.status != 401 or not self._rotating:
                raise
        log.info("KFP answered 401; re-reading the service-account token and trying once more")
        return await loop.run_in_executor(self._pool, self._invoke, request)

    def _invoke(self, request: Callable[[kfp.Client], T]) -> T:
        try:
            return request(self._client_or_build())
        except kfp_server_api.ApiException as exc:
            if not exc.status:  # kfp_server_api's own wrapping of an SSL failure
                raise KfpError("unreachable", detail=redact(str(exc.reason or ""))) from None
            raise KfpError("http", exc.status, _server_message(exc)) from None
        except urllib3.exceptions.HTTPError as exc:
            raise KfpError("timeout" if _is_timeout(exc) else "unreachable") from None
        except OSError as exc:  # the token file could not be read
            raise KfpError("token", detail=exc.strerror or type(exc).__name__) from None

    def _client_or_build(self) -> kfp.Client:
        with self._build_lock:
            if self._client is None:
                self._client = self._build()
            return self._client

    def _build(self) -> kfp.Client:
        settings = self.settings
        context = settings.data_path / "kfp" / "context.json"
        context.parent.mkdir(parents=True, exist_ok=True)
        context.write_text(json.dumps({"namespace": self.namespace}))
        credentials = None
        if settings.kfp_sa_token_path is not None and settings.kfp_existing_token is None:
            credentials = ServiceAccountTokenVolumeCredentials(path=str(settings.kfp_sa_token_path))
        previous = kfp_client_module.Client._LOCAL_KFP_CONTEXT
        kfp_client_module.Client._LOCAL_KFP_CONTEXT = str(context)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)  # "only works with KFP 2.0.0-beta.2 and later"
                client = kfp.Client(
                    host=settings.kfp_host, namespace=self.namespace,
                    existing_token=_secret(settings.kfp_existing_token), cookies=_secret(settings.kfp_cookies),
                    credentials=credentials,
                )  # fmt: skip
        finally:
            kfp_client_module.Client._LOCAL_KFP_CONTEXT = previous
        rest = client._run_api.api_client.rest_client  # shared by every service API of this client
        # Pools are made per host on first use, so this applies to every request.
        rest.pool_manager.connection_pool_kw["retries"] = urllib3.Retry(
            total=2,
            connect=2,
            read=0,
            redirect=0,
            status=0,
            other=0,
            backoff_factor=0.2,
            raise_on_status=False,
        )
        timeout = settings.kfp_request_timeout
        rest.request = _Instrumented(rest.request, (min(_CONNECT_TIMEOUT_S, timeout), timeout))
        return client

    async def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class _Instrumented:
    """Wraps the REST client's ``request``: a default timeout on every request, and metrics."""

    def __init__(self, request: Callable[..., Any], timeout: tuple[float, float]) -> None:
        self._request = request
        self._timeout = timeout

    def __call__(self, method: str, url: str, *args: Any, _request_timeout: Any = None, **kwargs: Any) -> Any:
        endpoint = _ID_SEGMENT.sub("/{id}", url.split("?", 1)[0].split("/apis/", 1)[-1])
        try:
            response = self._request(method, url, *args, _request_timeout=_request_timeout or self._timeout,
                                     **kwargs)  # fmt: skip
        except kfp_server_api.ApiException as exc:
            status = str(exc.status or "unreachable")
            KFP_REQUESTS.labels(method, endpoint, status).inc()
            KFP_ERRORS.labels(endpoint, f"http_{exc.status}" if exc.status else "unreachable").inc()
            raise
        except urllib3.exceptions.HTTPError as exc:
            kind = "timeout" if _is_timeout(exc) else "unreachable"
            KFP_REQUESTS.labels(method, endpoint, kind).inc()
            KFP_ERRORS.labels(endpoint, kind).inc()
            raise
        KFP_REQUESTS.labels(method, endpoint, str(response.status)).inc()
        return response


def response_json(
    response: Any, object_hook: Callable[[dict[str, Any]], Any] | None = None
) -> dict[str, Any]:
    """The JSON body of a response requested with ``_preload_content=False`` (no model objects)."""
    data = json.loads(response.data or b"{}", object_hook=object_hook)
    return data if isinstance(data, dict) else {}


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None


def _is_timeout(exc: BaseException) -> bool:
    reason = getattr(exc, "reason", None)
    return isinstance(exc, urllib3.exceptions.TimeoutError) or isinstance(
        reason, urllib3.exceptions.TimeoutError
    )


def _server_message(exc: kfp_server_api.ApiException) -> str:
    """The google.rpc.Status message the server sent, else the HTTP reason."""
    message = ""
    try:
        body = json.loads(exc.body) if exc.body else {}
        message = str(body.get("message") or "") if isinstance(body, dict) else ""
    except (TypeError, ValueError):
        pass
    return redact(message or str(exc.reason or f"HTTP {exc.status}"))
