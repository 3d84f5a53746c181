"""Typed keys of the shared services stored on the aiohttp application."""

from __future__ import annotations

import redis.asyncio as aioredis
from aiohttp import web

from recorder.audit import Audit

from .booking_desk import BookingDesk
from .calls import CallEngine
from .config import GatewayConfig
from .directory import Directory
from .kiosks import KioskRegistry
from .ledger import Ledger
from .sessions import RateLimiter, SlidingBudget, Tokens
from .staff import StaffAccounts

CONFIG = web.AppKey("config", GatewayConfig)
REDIS = web.AppKey("redis", aioredis.Redis)
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
