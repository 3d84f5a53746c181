"""Placeholder replaced by the OpenAPI document module."""

from __future__ import annotations

from typing import Any

from aiohttp import web


def document(version: str = "0.1.0") -> dict[str, Any]:
    return {"openapi": "3.1.0", "info": {"title": "Parloir", "version": version}, "paths": {}}


async def serve(request: web.Request) -> web.Response:
    return web.json_response(document())
