"""Refusals as HTTP answers: ``{"reason", "message"[, "details"]}`` with the status and the
sentence the table of reasons (:mod:`gateway.core.reasons`) gives, in the asker's language."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from gateway.core.i18n import pick_lang
from gateway.core.reasons import sentence, status
from gateway.http import appkeys as keys

__all__ = ["answer", "error", "lang_of"]

_ERRORS: dict[int, type[web.HTTPError]] = {
    400: web.HTTPBadRequest,
    401: web.HTTPUnauthorized,
    403: web.HTTPForbidden,
    404: web.HTTPNotFound,
    405: web.HTTPMethodNotAllowed,
    409: web.HTTPConflict,
    413: web.HTTPRequestEntityTooLarge,
    422: web.HTTPUnprocessableEntity,
    429: web.HTTPTooManyRequests,
    503: web.HTTPServiceUnavailable,
}


def lang_of(request: web.Request) -> str:
    """The language a staff or API answer speaks: ``?lang=``, else the configured one."""
    config = request.app.get(keys.CONFIG)
    return pick_lang(request.query.get("lang"), config.lang if config else "fr")


def _body(
    reason: str, lang: str, variant: str, details: Mapping[str, Any] | None, values: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"reason": reason, "message": sentence(reason, lang, variant, **values)}
    if details:
        body["details"] = dict(details)
    return body


def answer(
    reason: str,
    lang: str,
    variant: str = "",
    *,
    details: Mapping[str, Any] | None = None,
    **values: object,
) -> web.Response:
    """The refusal ``reason`` as a response (its status from the table)."""
    return web.json_response(_body(reason, lang, variant, details, values), status=status(reason))


def error(reason: str, lang: str, variant: str = "", **values: object) -> web.HTTPError:
    """The same, to raise (from a middleware, or deep in a handler)."""
    return _ERRORS[status(reason)](
        text=json.dumps(_body(reason, lang, variant, None, values)),
        content_type="application/json",
    )
