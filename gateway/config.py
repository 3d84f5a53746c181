"""The gateway's configuration: one frozen dataclass, built once at start-up.

Sources, later ones winning: the defaults below, a TOML file (``PARLOIR_CONFIG`` or ``--config``),
then environment variables ``PARLOIR_<FIELD>`` (upper-case field name; ``REDIS_URL``,
``REDIS_SENTINELS`` and ``REDIS_SENTINEL_MASTER`` are also read as they are). No other module
reads the environment: the built config is passed in explicitly.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from gateway.core.turn import rest_credentials


class ConfigError(ValueError):
    """A configuration value is missing or malformed."""


@dataclass(frozen=True)
class GatewayConfig:
    host: str = "127.0.0.1"
    "Address the HTTP/WebSocket server listens on (``0.0.0.0`` to serve phones on the network)."
    port: int = 8080
    "TCP port of the HTTP/WebSocket server (0: any free port)."
    public_url: str = ""
    "Address the relatives open, written in the SMS (default ``http(s)://HOST:PORT``)."
    redis_url: str = ""
    "Redis to use; empty: start a private embedded ``redis-server`` under ``data_dir``."
    redis_connections: int = 256
    "Redis connections per process at most; requests beyond wait for a free one."
    redis_sentinels: tuple[str, ...] = ()
    "Redis Sentinel instead of ``redis_url``: the sentinels' ``host:port`` (three or more, "
    "``REDIS_SENTINELS``); the master is the one they name ``redis_sentinel_master``."
    redis_sentinel_master: str = ""
    "The master's name in the sentinels' configuration (``REDIS_SENTINEL_MASTER``)."
    redis_sentinel_password: str = ""
    "Password of the sentinels themselves (their ``requirepass``), if any."
    redis_password: str = ""
    "Password of the Redis master and replicas under Sentinel (with a URL: in the URL)."
    redis_wait_replicas: int = 1
    "Under Sentinel, a ledger operation is acknowledged only once this many replicas have it "
    "(``WAIT``): a failover cannot lose it. 0: acknowledged as soon as the master has it."
    redis_wait_timeout_ms: int = 1000
    "Longest wait for those replicas; past it the operation answers ``ledger.unreplicated`` "
    "(it may have happened: the caller retries with the same operation id, never counted twice)."
    data_dir: str = "var"
    "Folder for the embedded Redis's append-only file, the SMS outbox and (later) recordings."
    lang: str = "fr"
    "Default language of messages: ``fr`` or ``en``."
    call_max_seconds: int = 1800
    "Longest call, from the moment both sides are connected (the charter: 20 to 30 minutes)."
    warning_seconds: tuple[int, ...] = (300, 60)
    "Both pages are warned this many seconds before the end."
    code_validity_seconds: int = 300
    "The relative has this long after the SMS to enter the code (the note: 5 minutes)."
    code_max_attempts: int = 5
    "Wrong tries on one call's code (via the SMS link) before the code is burned."
    connect_timeout_seconds: int = 120
    "After the code is accepted, both legs must be connected within this time."
    reconnect_grace_seconds: int = 60
    "A leg lost during the call (a phone changing network, a page reloaded) may come back "
    "within this time, on the same call, without a new code; the gap is not billed."
    media_silence_seconds: float = 2.0
    "A leg that sends no media (sound flows 50 packets a second) for this long is lost."
    join_attempts_per_minute: int = 10
    "Code entries allowed per client address per minute."
    join_failures_per_hour: int = 30
    "Wrong codes typed on the bare address (without the SMS link) per hour, all addresses "
    "together; past it, only the SMS link works until the hour ends (see the README)."
    kiosk_logins_per_minute: int = 10
    "Kiosk login attempts allowed per detainee number per minute."
    kiosk_id: str = "kiosk-1"
    "The kiosk the demo books and enrols (real kiosks are enrolled by an administrator)."
    ice_host_addresses: tuple[str, ...] = ()
    "Only gather ICE host candidates on these local addresses (empty: every interface)."
    event_loop: str = "asyncio"
    "``asyncio`` (Python's loop) or ``uvloop`` (libuv's, the ``uvloop`` extra; see the README's "
    "*Benchmark* for what it saves)."
    overload_governor: bool = True
    "When the event loop runs out of CPU, cap what the browsers send (README, *Capacity*); "
    "false: measure only."
    ice_public_ip: str = ""
    "Public IP of a 1:1 NAT in front of the gateway, added to its ICE candidates."
    stun_urls: tuple[str, ...] = ()
    "STUN servers handed to both the browsers and the gateway (``stun:host:port``)."
    turn_url: str = ""
    "TURN server (``turn:host:port?transport=udp``) for browsers behind strict NATs."
    turn_username: str = ""
    "TURN user name."
    turn_password: str = ""
    "TURN password (a fixed one; prefer ``turn_secret``)."
    turn_secret: str = ""
    "coturn's ``static-auth-secret``: each call gets TURN credentials valid about its length."
    sms_sender: str = "outbox"
    "How SMS leave (after the Redis queue): ``outbox`` (JSON lines in ``sms_outbox_path``), "
    "``smpp`` (an operator's SMSC, ``sms_smpp_*``) or ``https`` (a provider, ``sms_https_*``)."
    sms_booking_notices: bool = False
    "SMS the relative when a slot is booked, before it starts and when it is cancelled."
    sms_reminder_minutes: int = 30
    "How long before the slot the reminder goes."
    sms_https_url: str = ""
    "The HTTPS provider's send URL (``sms_sender = https``)."
    sms_https_token: str = ""
    "Bearer token the provider gave."
    sms_https_timeout_seconds: float = 10.0
    "Longest wait for the provider's answer (then retried)."
    sms_webhook_secret: str = ""
    "Shared secret of the provider's signed status webhook (``POST /api/sms/status``)."
    sms_webhook_window_seconds: float = 300.0
    "A webhook call signed longer ago than this (or ahead by as much) is refused."
    sms_smpp_host: str = ""
    "The operator's SMSC host name or address."
    sms_smpp_port: int = 2775
    "Its SMPP port (2775 is the usual one; many operators use a TLS tunnel or a VPN to it)."
    sms_smpp_system_id: str = ""
    "The account's system_id, given by the operator."
    sms_smpp_password: str = ""
    "The account's password (8 characters at most in SMPP 3.4)."
    sms_smpp_system_type: str = ""
    "system_type, when the operator asks for one (often empty)."
    sms_smpp_source_addr: str = "Parloir"
    "The sender shown on the phone: an alphanumeric name (11 characters) or a number."
    sms_smpp_source_ton: int = 5
    "Type of number of the sender: 5 alphanumeric, 1 international (with npi 1)."
    sms_smpp_source_npi: int = 0
    "Numbering plan of the sender: 0 for an alphanumeric name, 1 (E.164) for a number."
    sms_smpp_window: int = 10
    "submit_sm awaiting their response at once, at most (the operator's window)."
    sms_smpp_throttle: float = 0.0
    "submit_sm per second at most (0: no limit), the operator's throughput."
    sms_smpp_enquire_seconds: float = 30.0
    "Seconds between two enquire_link keep-alives."
    sms_outbox_path: str = ""
    "Outbox file (default ``DATA_DIR/sms-outbox.jsonl``)."
    sms_lease_seconds: float = 30.0
    "How long a process holds a message it is sending; if it dies, another takes it after this."
    sms_retry_first_seconds: float = 2.0
    "Wait before the second attempt after a transient failure; each further wait doubles."
    sms_retry_max_seconds: float = 120.0
    "Longest wait between two attempts."
    sms_max_attempts: int = 8
    "Attempts before a message that keeps failing transiently is given up."
    sms_poll_seconds: float = 1.0
    "How often each process looks for due messages (queued elsewhere or due for a retry)."
    log_level: str = "INFO"
    "Python logging level."
    establishment_name: str = "Établissement pénitentiaire"
    "Name printed on receipts, plannings and statements."
    time_zone: str = "Europe/Paris"
    "The establishment's IANA time zone: every slot time is local to it."
    holiday_region: str = "metropole"
    "Public holidays closing the video calls: ``metropole`` or ``alsace-moselle``."
    slot_times: tuple[str, ...] = (
        "08:30-09:15",
        "09:30-10:15",
        "10:30-11:15",
        "13:45-14:30",
        "14:45-15:30",
        "15:45-16:30",
    )
    "The daily slot grid, local ``HH:MM-HH:MM`` (the note's six slots)."
    slot_days: tuple[int, ...] = (1, 2, 3, 4, 5, 6)
    "Days with slots, 1 = Monday ... 6 = Saturday (Sundays are always closed)."
    booking_notice_hours: int = 48
    "A slot can be booked until this many hours before it starts."
    saturday_cutoff: str = "23:59:59"
    "Monday and Tuesday slots close on the Saturday before at this local time (empty: 48 h)."
    quota_count: int = 1
    "At most this many calls per detainee in any ``quota_window_days`` days."
    quota_window_days: int = 28
    "The quota window, in calendar days (the note: one slot every 4 weeks)."
    kiosks: tuple[str, ...] = ("kiosk-1=Salle d'audience",)
    "The kiosks, ``id=room`` each: one booking per kiosk and slot."
    default_tariff: str = "hors_forfait"
    "Tariff of an account that never chose a plan (names in the README's tariff table)."
    billing_rounding: str = "per_started_minute"
    "``per_started_minute`` (like a phone call) or ``per_second``."
    checkpoint_seconds: int = 5
    "A connected call saves its connected time this often (what a crash can lose, at most)."
    drain_timeout_seconds: int = 2100
    "On SIGTERM a process with live calls drains: no new call, its calls go on to their end, "
    "at most this long (then they end interrupted). Keep systemd's TimeoutStopSec above it."
    heartbeat_seconds: int = 2
    "Each gateway process proves it is alive this often; 3 missed beats make it dead."
    staff_networks: tuple[str, ...] = ("127.0.0.0/8", "::1/128")
    "Client networks allowed on the staff pages and API (the prison's internal network)."
    staff_session_idle_seconds: int = 1800
    "A staff session ends after this long without a request (sign in again)."
    staff_session_max_seconds: int = 43200
    "A staff session ends this long after signing in, used or not (one 12-hour shift)."
    staff_login_failures: int = 5
    "Wrong passwords on one account within 15 minutes before it is locked for 15 minutes."
    staff_logins_per_minute: int = 20
    "Sign-in attempts allowed per client address per minute."
    tls_cert: str = ""
    "PEM certificate chain: the gateway serves HTTPS/WSS itself (empty: plain HTTP)."
    tls_key: str = ""
    "PEM private key of ``tls_cert`` (empty: the key is in the ``tls_cert`` file)."
    trusted_proxies: tuple[str, ...] = ()
    "Reverse proxies (networks) whose X-Forwarded-For/-Proto are believed; nobody else's are."
    recordings_dir: str = ""
    "Where recordings go, one folder per call (default ``DATA_DIR/recordings``)."
    record_calls: bool = True
    "Record every call (calls with a lawyer never are)."
    retention_days: int = 90
    "Recordings older than this are destroyed, unless on legal hold (Code pénitentiaire L. 223-4)."
    privacy_controller: str = ""
    "Who processes the data, in the information notice (empty: ``establishment_name``)."
    privacy_contact: str = ""
    "Where people write to use their rights, in the notice (empty: the head of the establishment)."
    privacy_notice_file: str = ""
    "A TOML file replacing the notice's default text, per language and audience (README)."

    def __post_init__(self) -> None:
        if self.lang not in ("fr", "en"):
            raise ConfigError(f"lang must be fr or en, not {self.lang!r}")
        if self.event_loop not in ("asyncio", "uvloop"):
            raise ConfigError(f"event_loop must be asyncio or uvloop, not {self.event_loop!r}")
        if self.call_max_seconds <= 0 or self.code_validity_seconds <= 0:
            raise ConfigError("call_max_seconds and code_validity_seconds must be positive")
        if self.reconnect_grace_seconds < 0 or not self.media_silence_seconds > 0:
            raise ConfigError("reconnect_grace_seconds must be >= 0, media_silence_seconds > 0")
        if self.code_max_attempts < 1:
            raise ConfigError("code_max_attempts must be at least 1")
        if self.sms_sender == "https" and not self.sms_https_url.startswith(
            ("https://", "http://")
        ):
            raise ConfigError("sms_sender https needs sms_https_url")
        if self.sms_sender not in ("outbox", "smpp", "https"):
            raise ConfigError(f"unknown sms_sender {self.sms_sender!r}")
        if self.sms_sender == "smpp" and not self.sms_smpp_host:
            raise ConfigError("sms_sender smpp needs sms_smpp_host")
        if self.sms_reminder_minutes < 1:
            raise ConfigError("sms_reminder_minutes must be at least 1")
        if self.sms_smpp_window < 1 or self.sms_smpp_throttle < 0:
            raise ConfigError("sms_smpp_window must be >= 1 and sms_smpp_throttle >= 0")
        for name in ("sms_lease_seconds", "sms_retry_first_seconds", "sms_retry_max_seconds",
                     "sms_poll_seconds"):  # fmt: skip
            if not float(getattr(self, name)) > 0:
                raise ConfigError(f"{name} must be positive")
        if self.sms_max_attempts < 1:
            raise ConfigError("sms_max_attempts must be at least 1")
        if not 0 <= self.port <= 65535:
            raise ConfigError("port out of range")
        if self.billing_rounding not in ("per_started_minute", "per_second"):
            raise ConfigError(f"unknown billing_rounding {self.billing_rounding!r}")
        if self.checkpoint_seconds < 1 or self.heartbeat_seconds < 1:
            raise ConfigError("checkpoint_seconds and heartbeat_seconds must be at least 1")
        for entry in self.kiosks:
            kiosk, _, room = entry.partition("=")
            if not kiosk.strip() or not room.strip():
                raise ConfigError(f"kiosks: {entry!r} is not id=room")
        for network in self.staff_networks:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError as exc:
                raise ConfigError(f"staff_networks: {network!r}: {exc}") from exc
        for network in self.trusted_proxies:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError as exc:
                raise ConfigError(f"trusted_proxies: {network!r}: {exc}") from exc
        if self.redis_sentinels:
            if self.redis_url:
                raise ConfigError("set redis_url or redis_sentinels (REDIS_SENTINELS), not both")
            sentinel_addresses(self.redis_sentinels)
            if not self.redis_sentinel_master.strip():
                raise ConfigError(
                    "redis_sentinels is set: redis_sentinel_master (REDIS_SENTINEL_MASTER) "
                    "must name the master, as in the sentinels' 'sentinel monitor NAME …'"
                )
        if self.redis_wait_replicas < 0 or self.redis_wait_timeout_ms < 1:
            raise ConfigError("redis_wait_replicas must be >= 0 and redis_wait_timeout_ms >= 1")
        if self.tls_key and not self.tls_cert:
            raise ConfigError("tls_key is set without tls_cert")

    def kiosk_rooms(self) -> dict[str, str]:
        """Kiosk id -> room name, in the configured order."""
        return {k.strip(): r.strip() for k, _, r in (e.partition("=") for e in self.kiosks)}

    @property
    def call_max_minutes(self) -> int:
        return -(-self.call_max_seconds // 60)

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)

    @property
    def recordings_path(self) -> Path:
        return Path(self.recordings_dir or self.data_path / "recordings")

    @property
    def outbox_path(self) -> Path:
        return Path(self.sms_outbox_path or self.data_path / "sms-outbox.jsonl")

    def base_url(self, bound_port: int | None = None) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        scheme = "https" if self.tls_cert else "http"
        return f"{scheme}://{host}:{bound_port or self.port}"

    def ice_servers(
        self, *, user: str = "", now: float = 0.0, ttl: int = 0
    ) -> list[dict[str, Any]]:
        """ICE servers as the browsers' ``RTCPeerConnection`` takes them.

        With ``turn_secret``, TURN appears only when ``user`` is given (a logged-in kiosk or an
        accepted relative), with credentials valid ``ttl`` seconds from ``now``."""
        servers: list[dict[str, Any]] = [{"urls": url} for url in self.stun_urls]
        if self.turn_url and self.turn_secret:
            if user:
                username, password = rest_credentials(self.turn_secret, user, now, ttl)
                servers.append(
                    {"urls": self.turn_url, "username": username, "credential": password}
                )
        elif self.turn_url:
            servers.append(
                {
                    "urls": self.turn_url,
                    "username": self.turn_username,
                    "credential": self.turn_password,
                }
            )
        return servers


def sentinel_addresses(entries: tuple[str, ...]) -> list[tuple[str, int]]:
    """``host:port`` (``[v6]:port``) entries as (host, port) pairs; :class:`ConfigError` names
    the first one that is not."""
    out = []
    for entry in entries:
        host, sep, port = entry.strip().rpartition(":")
        host = host.strip("[]")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(
                f"redis_sentinels: {entry!r} is not host:port (e.g. 127.0.0.1:26379)"
            )
        out.append((host, int(port)))
    return out


def _coerce(name: str, kind: Any, raw: Any) -> Any:
    text_kind = str(kind)
    try:
        if "tuple[int" in text_kind:
            items = raw if isinstance(raw, list | tuple) else str(raw).split(",")
            return tuple(int(x) for x in items if str(x).strip())
        if "tuple[str" in text_kind:
            items = raw if isinstance(raw, list | tuple) else str(raw).split(",")
            return tuple(str(x).strip() for x in items if str(x).strip())
        if kind is bool or text_kind == "bool":
            if isinstance(raw, bool):
                return raw
            if str(raw).strip().lower() in ("1", "true", "yes", "on", "oui"):
                return True
            if str(raw).strip().lower() in ("0", "false", "no", "off", "non"):
                return False
            raise ValueError(raw)
        if kind is int or text_kind == "int":
            return int(raw)
        if kind is float or text_kind == "float":
            return float(raw)
        return str(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name}: cannot read {raw!r}") from exc


def load_config(
    env: Mapping[str, str], toml_path: str | None = None, **overrides: Any
) -> GatewayConfig:
    """Build the config from a TOML file, the environment and explicit overrides."""
    values: dict[str, Any] = {}
    known = {f.name: f.type for f in fields(GatewayConfig)}
    path = toml_path or env.get("PARLOIR_CONFIG")
    if path:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config file {path}: {exc}") from exc
        section = data.get("gateway", data)
        for key, raw in section.items():
            if key not in known:
                raise ConfigError(f"unknown setting {key!r} in {path}")
            values[key] = _coerce(key, known[key], raw)
    if env.get("REDIS_URL"):
        values["redis_url"] = env["REDIS_URL"]
    for variable, name in (("REDIS_SENTINELS", "redis_sentinels"),
                           ("REDIS_SENTINEL_MASTER", "redis_sentinel_master")):  # fmt: skip
        if env.get(variable):
            values[name] = _coerce(name, known[name], env[variable])
    for name, kind in known.items():
        raw = env.get(f"PARLOIR_{name.upper()}")
        if raw is not None:
            values[name] = _coerce(name, kind, raw)
    for name, raw in overrides.items():
        if raw is not None:
            values[name] = _coerce(name, known[name], raw)
    return GatewayConfig(**values)


def from_environ(toml_path: str | None = None, **overrides: Any) -> GatewayConfig:
    """The one place that reads ``os.environ``."""
    return load_config(os.environ, toml_path, **overrides)


__all__ = ["ConfigError", "GatewayConfig", "from_environ", "load_config", "sentinel_addresses"]
