"""The aiohttp router, made from the route table (:mod:`gateway.core.routes`): nothing is routed
that the table does not declare, so the router, the authorization matrix, the staff-network
prefixes and the OpenAPI document cannot drift apart."""

from __future__ import annotations

import importlib
from pathlib import Path

from aiohttp import web

from gateway.core.routes import ROUTE_TABLE, Route
from gateway.http import appkeys as keys
from gateway.http import models
from gateway.http.desk_api import BadRequest, body

WEB_DIR = Path(__file__).resolve().parents[2] / "web"


def page(name: str) -> web.Handler:
    """A page of ``web/``, served as it is (revalidated on every load)."""
    path = WEB_DIR / name

    async def handler(request: web.Request) -> web.FileResponse:
        response = web.FileResponse(path)
        response.headers["Cache-Control"] = "no-cache"
        return response

    return handler


def handler_of(route: Route) -> web.Handler:
    """The function a route names: ``module.function`` under ``gateway.http``, or a full path."""
    module, _, name = route.handler.rpartition(".")
    if not module.startswith(("gateway.", "signaling.")):
        module = "gateway.http." + module
    return getattr(importlib.import_module(module), name)


def with_body(handler: web.Handler, model: type[models.Body]) -> web.Handler:
    """``handler`` once the request's body is valid for ``model`` (``request[keys.BODY]``);
    a wrong field is refused ``400`` ``field.<name>`` before the handler runs."""

    async def validated(request: web.Request) -> web.StreamResponse:
        try:
            request[keys.BODY] = models.validate(model, await body(request))
        except models.FieldError as exc:
            raise BadRequest(exc.reason, exc.fr, exc.en) from None
        return await handler(request)

    return validated


def add_routes(app: web.Application) -> None:
    for route in ROUTE_TABLE:
        if route.static:
            app.router.add_static(route.path + "/", WEB_DIR / route.static)
            continue
        handler = page(route.page) if route.page else handler_of(route)
        model = models.MODELS.get(route.body)
        if model is not None and model.ROUTER:  # else its handler validates it
            handler = with_body(handler, model)
        app.router.add_route(route.method, route.path, handler)  # a GET answers HEAD too
