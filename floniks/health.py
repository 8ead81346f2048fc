"""GET /healthz: can this web process reach its database, its broker and its artifact storage?

For load balancers and container health checks: no sign-in, no session, no redirect to HTTPS
(SECURE_REDIRECT_EXEMPT). 200 `{"database": "ok", "broker": "ok", "storage": "ok"}` when all
three answer; 503 with the failing part marked "error" or "timeout" otherwise. The reasons go to
the log, not to the anonymous caller. The three checks run side by side and each gives up after
FLONIKS_HEALTHZ_TIMEOUT_SECONDS, so a probe never hangs on a dead dependency."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

import kombu
from django.conf import settings
from django.core.files.storage import storages
from django.db import connections
from django.db.utils import load_backend
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from runs_app.buckets import NotS3, artifact_bucket

logger = logging.getLogger(__name__)


def check_database(timeout: float) -> None:
    """SELECT 1 on a connection of its own, opened with a connect and statement timeout and closed after.
    (The request's own connection has no connect timeout, and a probe must not hang on it.)"""
    settings_dict = {**connections.settings["default"]}
    if settings_dict["ENGINE"].endswith("postgresql"):
        options = {**settings_dict.get("OPTIONS", {})}
        options["connect_timeout"] = max(int(timeout), 1)
        options["options"] = f"{options.get('options', '')} -c statement_timeout={int(timeout * 1000)}".strip()
        settings_dict["OPTIONS"] = options
    wrapper = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, "default")
    try:
        with wrapper.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        wrapper.close()


def check_broker(timeout: float) -> None:
    """Connect to the Celery broker once, with short connect and socket timeouts, and no retries."""
    transport_options = {
        **settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
    }
    with kombu.Connection(
        settings.CELERY_BROKER_URL, connect_timeout=timeout, transport_options=transport_options
    ) as connection:
        # Connecting opens a channel, and kombu's Redis channel PINGs the server as it opens.
        connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=max(int(timeout), 1))


def check_storage(timeout: float) -> None:
    """An S3 bucket must exist and let us in (HEAD bucket); local file storage must answer a lookup."""
    try:
        bucket = artifact_bucket()
    except NotS3:
        storages["artifacts"].exists("healthz")
        return
    if not bucket.exists(bucket.client(timeout=timeout)):
        raise RuntimeError(f"Bucket {bucket.name!r} does not exist; run `manage.py ensure_bucket`.")


CHECKS: dict[str, Callable[[float], None]] = {
    "database": check_database,
    "broker": check_broker,
    "storage": check_storage,
}


def _run(check: Callable[[float], None], timeout: float) -> None:
    try:
        check(timeout)
    finally:
        connections.close_all()  # the pool thread ends; it must not leave a connection behind


@require_safe
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    timeout = float(settings.FLONIKS_HEALTHZ_TIMEOUT_SECONDS)
    deadline = time.monotonic() + timeout + 0.5
    results: dict[str, str] = {}
    # A fresh pool per probe, not waited for: a check stuck past its timeout cannot block the next probe.
    pool = ThreadPoolExecutor(max_workers=len(CHECKS), thread_name_prefix="healthz")
    try:
        futures = {name: pool.submit(_run, check, timeout) for name, check in CHECKS.items()}
        for name, future in futures.items():
            try:
                future.result(timeout=max(deadline - time.monotonic(), 0))
                results[name] = "ok"
            except FutureTimeout:
                results[name] = "timeout"
                logger.warning("healthz: %s did not answer within %ss", name, timeout)
            except Exception as error:
                results[name] = "error"
                logger.warning("healthz: %s failed: %s: %s", name, type(error).__name__, error)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    healthy = all(value == "ok" for value in results.values())
    return JsonResponse(results, status=200 if healthy else 503)
