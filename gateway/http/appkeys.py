"""Typed keys of the shared services stored on the aiohttp application."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web
from pydantic import BaseModel

from gateway.config import GatewayConfig
from gateway.service.engine import CallEngine
from gateway.service.supervisor import Supervisor
from gateway.store.bookings import BookingDesk
from gateway.store.directory import Directory
from gateway.store.kiosks import KioskRegistry
from gateway.store.ledger import Ledger
from gateway.store.staff import StaffAccounts
from gateway.store.tokens import RateLimiter, SlidingBudget, Tokens
from recorder.audit import Audit

if TYPE_CHECKING:  # only its type: the client is made by the service and handed to the stores
    from redis.asyncio import Redis

CONFIG = web.AppKey("config", GatewayConfig)
REDIS: web.AppKey[Redis] = web.AppKey("redis")
TOKENS = web.AppKey("tokens", Tokens)
DIRECTORY = web.AppKey("directory", Directory)
ENGINE = web.AppKey("engine", CallEngine)
JOIN_LIMITER = web.AppKey("join_limiter", RateLimiter)
KIOSK_LIMITER = web.AppKey("kiosk_limiter", RateLimiter)
DESK = web.AppKey("desk", BookingDesk)
LEDGER = web.AppKey("ledger", Ledger)
AUDIT = web.AppKey("audit", Audit)
JOIN_FAILURES = web.AppKey("join_failures", SlidingBudget)
STAFF = web.AppKey("staff", StaffAccounts)
KIOSKS = web.AppKey("kiosks", KioskRegistry)
STAFF_LOGIN_LIMITER = web.AppKey("staff_login_limiter", RateLimiter)
ENROL_LIMITER = web.AppKey("enrol_limiter", RateLimiter)
SUPERVISOR = web.AppKey("supervisor", Supervisor)

# The request body, validated by the route's model before its handler runs (gateway.http.routes).
BODY = web.RequestKey("parloir_body", BaseModel)
