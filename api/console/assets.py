"""Static assets served from the package, and the API's documentation pages built on them.

FastAPI's own /docs loads Swagger UI and a favicon from CDNs, so without internet it is blank. This
serves the same page from vendored copies (static/vendor/, versions in their folder names, licences
beside them). ReDoc (FastAPI's /redoc) is not served: its bundle loads a logo from its CDN.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC_URL = "/static"
SWAGGER = f"{STATIC_URL}/vendor/swagger-ui-5.36.0"
HTMX = f"{STATIC_URL}/vendor/htmx-2.0.11/htmx.min.js"
FAVICON = f"{SWAGGER}/favicon-32x32.png"


def static_dir() -> Path:
    return Path(str(files("api.console") / "static"))


def docs_router(openapi_url: str, title: str) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/docs")
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} — API",
            swagger_js_url=f"{SWAGGER}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER}/swagger-ui.css",
            swagger_favicon_url=FAVICON,
            # Swagger UI would otherwise show a badge image from validator.swagger.io.
            swagger_ui_parameters={"validatorUrl": None},
        )

    return router


def install_assets(app: FastAPI) -> APIRouter:
    """Mount /static and serve /docs from it (create the app with docs_url=None, redoc_url=None)."""
    app.mount(STATIC_URL, StaticFiles(directory=static_dir()), name="static")
    router = docs_router(app.openapi_url or "/openapi.json", app.title)
    app.include_router(router)
    return router
