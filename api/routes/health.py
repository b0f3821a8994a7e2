"""Liveness/readiness and Prometheus metrics."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from api.deps import RuntimeDep
from api.errors import LIMIT_RESPONSES
from api.json_body import BoundedJsonRoute

log = logging.getLogger(__name__)

router = APIRouter(route_class=BoundedJsonRoute, tags=["operations"], responses={413: LIMIT_RESPONSES[413]})


@router.get("/healthz", responses={503: {"description": "the database is unreachable"}})
def healthz(runtime: RuntimeDep) -> JSONResponse:
    try:
        with runtime.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure here means "not ready"
        # The driver's message can name hosts and users: the log gets it, the public answer does not.
        log.warning("health check: the database is unreachable: %s", exc)
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok", "channels": runtime.settings.channels})


@router.get("/metrics", response_class=Response)
def metrics(runtime: RuntimeDep) -> Response:
    return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)
