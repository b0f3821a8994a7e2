"""Every error leaves the API as {"error": {"code", "message"}} with a fitting status."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from agent.outbound_urls import RefusedTarget

log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} not found")


def error_json(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


MAX_DESCRIBED = 20  # a 100k-item list of bad values would otherwise be a 100k-part message


def describe_validation(errors: Any) -> str:
    parts = []
    for error in errors[:MAX_DESCRIBED]:
        if error.get("type") == "json_invalid":  # the parser's own words (see api.json_body)
            parts.append(f"the request body: {error.get('ctx', {}).get('error', 'not valid JSON')}")
            continue
        location = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path", "header"))
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{location}: {message}" if location else message)
    more = f" (and {len(errors) - MAX_DESCRIBED} more)" if len(errors) > MAX_DESCRIBED else ""
    return ("; ".join(parts) or "invalid request") + more


_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
}


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path: Starlette's own 405 names only the first
    route that matched the path, so `OPTIONS /v1/reps` would say `Allow: POST` and hide GET.
    `create_app` lists the routes in `app.state.routes` (the router only holds included routers)."""
    matching = [route for route in request.app.state.routes if route.path_regex.match(request.url.path)]
    # A literal path is its own resource: /v1/case-studies/match is not the study called "match".
    literal = [route for route in matching if not route.param_convertors]
    return sorted({method for route in literal or matching for method in route.methods or ()})


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_json(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(RefusedTarget)
    async def _refused_target(_: Request, exc: RefusedTarget) -> JSONResponse:
        return error_json(422, "invalid", str(exc))  # a webhook URL the business gave, with its field

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_json(422, "invalid", describe_validation(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "error")
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request))}
        return error_json(exc.status_code, code, str(exc.detail), headers)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return error_json(500, "internal", "something went wrong on our side; nothing was changed")


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": code.replace("_", " ")}
    for status, code in (
        (400, "bad_request"),
        (401, "unauthorized"),
        (404, "not_found"),
        (413, "too_large"),
        (422, "invalid"),
        (429, "rate_limited"),
    )
}


# Every route, keyed or not: the body size limit and the rate limits (per key, or per client address).
LIMIT_RESPONSES: dict[int | str, dict[str, Any]] = {
    413: {"model": ErrorResponse, "description": "the request body is over the size limit"},
    429: {"model": ErrorResponse, "description": "rate limited; see the Retry-After header"},
}
