"""``/healthz``: database, channel layer and task worker status as JSON (503 if any fails).

Anonymous callers and non-staff users get only ``{"status": "ok"}`` / ``{"status": "not ok"}``
(and the status code); the details (vendor, backend, live workers, error class) are for staff."""

from __future__ import annotations

import time
import uuid

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from curation.jobs.workers import live_workers


def _check_database() -> dict[str, object]:
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return {"ok": False, "vendor": connection.vendor, "error": type(exc).__name__}
    ms = round((time.perf_counter() - started) * 1000, 1)
    return {"ok": True, "vendor": connection.vendor, "ms": ms}


async def _layer_roundtrip() -> bool:
    layer = get_channel_layer()
    if layer is None:
        return False
    channel = await layer.new_channel()
    token = uuid.uuid4().hex
    await layer.send(channel, {"type": "health.ping", "token": token})
    message = await layer.receive(channel)
    return bool(message.get("token") == token)


def _check_channel_layer() -> dict[str, object]:
    backend = settings.CHANNEL_LAYERS["default"]["BACKEND"].rsplit(".", 1)[-1]
    try:
        ok = async_to_sync(_layer_roundtrip)()
    except Exception as exc:
        return {"ok": False, "backend": backend, "error": type(exc).__name__}
    return {"ok": ok, "backend": backend}


def _check_workers() -> dict[str, object]:
    try:
        workers = live_workers()
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}
    return {
        "ok": bool(workers),
        "mode": "in-process" if settings.CURATION_INPROCESS_WORKER else "db_worker",
        "live": len(workers),
    }


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {
        "database": _check_database(),
        "channel_layer": _check_channel_layer(),
        "worker": _check_workers(),
    }
    healthy = all(check["ok"] for check in checks.values())
    status = 200 if healthy else 503
    summary = {"status": "ok" if healthy else "not ok"}
    if not getattr(request.user, "is_staff", False):
        return JsonResponse(summary, status=status)  # load balancers need no more than this
    return JsonResponse({**summary, "ok": healthy, **checks}, status=status)
