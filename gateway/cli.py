"""Command line: ``python -m gateway demo [--json] | serve | drain | slots | recordings``..."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import json
import logging
import os
import secrets
import signal
import sys
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from aiohttp import web
from redis.exceptions import RedisError

from gateway.config import ConfigError, GatewayConfig, from_environ
from gateway.core.booking_rules import slots
from gateway.core.pricing import max_hold
from gateway.core.records import Booking, Correspondent, Detainee, DirectoryError
from gateway.core.roles import Role
from gateway.core.text import TextRefused
from gateway.http import appkeys as keys
from gateway.http.app import create_app, establishment_of
from gateway.http.desk_api import slots_json
from gateway.service.backup import BackupError, backup, restore
from gateway.service.cluster import alive_key, channel
from gateway.service.drain import Drainer
from gateway.service.redis_client import close as close_redis
from gateway.service.redis_client import connect, has_redis
from gateway.service.redis_server import EmbeddedRedis, EmbeddedRedisError
from gateway.service.text_check import broken_texts_in
from gateway.service.tls import server_context
from gateway.store.bookings import BookingDesk, DeskError
from gateway.store.directory import (
    Directory,
    hash_access_code,
    new_id,
)
from gateway.store.kiosks import KioskRegistry
from gateway.store.ledger import Ledger, LedgerError
from gateway.store.staff import StaffAccounts, StaffError
from recorder.audit import Audit
from recorder.integrity import verify
from recorder.retention import purge
from recorder.store import RecordingStore

log = logging.getLogger("parloir")

DEMO_SLOT_SECONDS = 45 * 60
DEMO_ACTOR = "démo"
"Who books the demo's bookings: how a new start finds its earlier ones."


@dataclass
class Running:
    config: GatewayConfig
    redis: aioredis.Redis
    runner: web.AppRunner
    app: web.Application
    port: int
    embedded: EmbeddedRedis | None

    @property
    def base_url(self) -> str:
        return self.config.base_url(self.port)

    async def stop(self) -> None:
        await self.runner.cleanup()
        await close_redis(self.redis)
        if self.embedded is not None:
            await asyncio.to_thread(self.embedded.stop)


async def start(config: GatewayConfig) -> Running:
    ssl_context = server_context(config)  # before anything starts: a bad file stops here
    embedded = None
    url = config.redis_url
    if not has_redis(config):
        embedded = EmbeddedRedis(config.data_path / "redis")
        await asyncio.to_thread(embedded.start)
        url = embedded.url
    # A bounded pool that makes requests wait for a connection rather than fail: redis-py's
    # default pool raises "Too many connections" past 100 concurrent commands (a burst of
    # guesses on /api/join did it). Through Sentinel when it is configured.
    redis = connect(config, url, max_connections=config.redis_connections)
    try:
        await redis.ping()
        app = create_app(config, redis)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, config.host, config.port, ssl_context=ssl_context)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
    except BaseException:  # the port is taken, say: leave no redis-server behind
        await close_redis(redis)
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)
        raise
    server = site._server
    assert server is not None and server.sockets  # type: ignore[attr-defined]
    port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    running = Running(config, redis, runner, app, port, embedded)
    app[keys.ENGINE].public_base_url = running.base_url
    return running


async def seed_demo(app: web.Application, now: float) -> dict[str, Any]:
    """A detainee with phone credit, two correspondents and a booking that starts now.

    The booking is written as is (the demo must work at any hour, even on a Sunday): only the
    desk applies the booking rules. Its hold is taken like a real one. Started again on the same
    data, the earlier demo bookings are closed first (their connected time charged, the rest of
    their hold released), and the account is topped up when a demo hold no longer fits, so the
    demo can be started any number of times.
    """
    directory: Directory = app[keys.DIRECTORY]
    ledger: Ledger = app[keys.LEDGER]
    desk: BookingDesk = app[keys.DESK]
    config: GatewayConfig = app[keys.CONFIG]
    access_code = f"{secrets.randbelow(10**4):04d}"
    detainee = Detainee(
        number="100042",
        first_name="Jean",
        last_name="Martin",
        code_hash=hash_access_code(access_code),
        building="A",
        floor="2",
        cell="214",
        charter_signed_at=now - 7 * 86400,
        charter_signed_by="démo",
    )
    correspondent = Correspondent(
        id="corr_demo",
        detainee=detainee.number,
        name="Marie Martin",
        phone="+33612345678",
        relationship="mère",
    )
    await directory.put_detainee(detainee)
    await directory.put_correspondent(correspondent)
    await directory.put_correspondent(
        Correspondent(
            id="corr_demo_2",
            detainee=detainee.number,
            name="Lucas Martin",
            phone="+33698765432",
            relationship="fils",
            minor=True,
            consent_by="Marie Martin (mère)",
            consent_at=now - 7 * 86400,
        )
    )
    await ledger.credit(detainee.number, 5000, "demo", "demo-initial-credit", int(now * 1000))
    for earlier in await directory.bookings_of(detainee.number):
        if earlier.booked_by == DEMO_ACTOR and earlier.status == "booked":
            await desk.close(earlier.id, now, "demo")
    start = float(int(now // 60 * 60))
    account = await ledger.account(detainee.number)
    tariff = ledger.tariffs.get(account.tariff)
    hold = max_hold(tariff, config.call_max_minutes)
    if account.available < hold:  # earlier demo calls spent the credit: buy what is missing
        missing = hold - account.available
        await ledger.credit(detainee.number, missing, "demo", f"demo-top-up-{int(now * 1000)}",
                            int(now * 1000))  # fmt: skip
    booking = Booking(
        id=new_id("bk"),
        detainee=detainee.number,
        correspondent=correspondent.id,
        kiosk=config.kiosk_id,
        start=start,
        end=start + DEMO_SLOT_SECONDS,
        receipt=f"DEMO-{int(start)}",
        booked_by=DEMO_ACTOR,
        booked_at=now,
        tariff=tariff.name,
        hold=hold,
        max_seconds=config.call_max_seconds,
    )
    await directory.put_booking(booking)
    await ledger.hold(detainee.number, booking.id, hold, "demo", int(now * 1000))
    return {
        "detainee": detainee.number,
        "access_code": access_code,
        "correspondent_phone": correspondent.phone,
        "booking": booking.id,
        "slot_start": int(booking.start * 1000),
        "slot_end": int(booking.end * 1000),
    }


DEMO_STAFF = (
    ("activites", "Agent Activités (démo)", [Role.ACTIVITIES]),
    ("etage", "Agent Étage (démo)", [Role.FLOOR]),
    ("surveillance", "Agent Surveillance (démo)", [Role.MONITORING]),
    ("regie", "Agent Régie (démo)", [Role.ACCOUNTS]),
    ("direction", "Directrice (démo)", [Role.HEAD]),
    ("admin", "Administrateur (démo)", [Role.ADMIN]),
)


async def seed_demo_staff(app: web.Application, now: float) -> dict[str, Any]:
    """One account per role with a fresh random password (printed at each start: the demo has
    no fixed password either), and the demo kiosk enrolled with a one-time code."""
    accounts: StaffAccounts = app[keys.STAFF]
    staff = {}
    for login, name, roles in DEMO_STAFF:
        password = secrets.token_urlsafe(9)
        if await accounts.get(login) is None:
            await accounts.create(login, name, roles, password, "démo", now)
        else:
            await accounts.set_password(login, password)
        staff[login] = password
    kiosk = app[keys.CONFIG].kiosk_id
    registry: KioskRegistry = app[keys.KIOSKS]
    code = await registry.start_enrolment(kiosk, "démo", now)
    return {"staff": staff, "kiosk_enrolment_code": code}


def serve(args: argparse.Namespace) -> int:
    """``serve`` and ``demo``: build the configuration, then run on the loop it names."""
    config = from_environ(args.config, host=args.host, port=args.port, data_dir=args.data_dir)
    factory = None
    if config.event_loop == "uvloop":
        try:
            import uvloop
        except ImportError:
            return _refuse(args.command, "event_loop = uvloop, mais uvloop n'est pas installé.")
        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(run(args, config))


async def run(args: argparse.Namespace, config: GatewayConfig | None = None) -> int:
    if config is None:
        config = from_environ(args.config, host=args.host, port=args.port, data_dir=args.data_dir)
    logging.basicConfig(
        level=config.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        running = await start(config)
    except (OSError, RedisError, EmbeddedRedisError) as exc:
        return _refuse(args.command, f"le serveur n'a pas pu démarrer ({exc}).")
    drainer = Drainer(
        running.app[keys.ENGINE], running.app[keys.SUPERVISOR], config.drain_timeout_seconds
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):  # drain first, a second one interrupts
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, drainer.request)
    try:
        info: dict[str, Any] = {"url": running.base_url}
        if args.command == "demo":
            try:
                demo = await seed_demo(running.app, time.time())
                info.update(demo)
                info.update(await seed_demo_staff(running.app, time.time()))
            except (LedgerError, DeskError, StaffError, DirectoryError, RedisError) as exc:
                message = exc.message_fr if isinstance(exc, DeskError) else None
                if isinstance(exc, LedgerError):
                    message = exc.message
                reason = getattr(exc, "reason", type(exc).__name__)
                sentence = f"la démo n'a pas pu être préparée : {message or exc} ({reason})"
                return _refuse("demo", sentence)
        info.update(
            {
                "kiosk_url": f"{running.base_url}/kiosk",
                "join_url": f"{running.base_url}/join",
                "sms_outbox": str(config.outbox_path.resolve()),
                "redis": "embedded" if running.embedded else "external",
                "pid": os.getpid(),
                "owner": running.app[keys.ENGINE].owner,
                "event_loop": type(loop).__module__.split(".")[0],  # asyncio or uvloop
            }
        )
        if args.json:
            print(json.dumps(info, ensure_ascii=False), flush=True)
        else:
            print(_describe(info), flush=True)
        await drainer.done.wait()
    finally:
        await drainer.stop()
        await running.stop()  # calls still live (a second signal, the timeout): interrupted
    return 0


async def backup_command(args: argparse.Namespace) -> int:
    """``backup DIR``: the ``parloir:`` keys at one instant and the recordings with their chain;
    ``restore DIR``: into a fresh Redis (``REDIS_URL``) and an empty recordings folder."""
    config = from_environ(args.config)
    if not has_redis(config):
        print(f"parloir {args.command}: set REDIS_URL or REDIS_SENTINELS", file=sys.stderr)
        return 2
    folder = Path(args.folder)
    redis = connect(config, decode_responses=False)
    try:
        if args.command == "backup":
            done = await backup(redis, config.recordings_path, folder, time.time())
        else:
            done = await restore(redis, config.recordings_path, folder)
    except (BackupError, OSError, RedisError) as exc:
        print(f"parloir {args.command}: {exc}", file=sys.stderr)
        return 1
    finally:
        await close_redis(redis)
    print(
        json.dumps(
            {
                args.command: str(folder),
                "keys": done.keys,
                "recording_files": done.recording_files,
                "taken_at": done.taken_at,
            }
        )
    )
    return 0


async def _gone(redis: aioredis.Redis, owner: str) -> None:
    """Until the process's heartbeat key is gone (it deletes it as it stops)."""
    alive = True
    while alive:
        alive = bool(await redis.exists(alive_key(owner)))
        await asyncio.sleep(1.0 if alive else 0)


async def drain_command(args: argparse.Namespace) -> int:
    """``drain --pid PID`` (this machine: SIGTERM) or ``drain --owner OWNER`` (any machine:
    a ``drain`` envelope on its channel); ``--wait`` waits for it to leave the cluster."""
    config = from_environ(args.config)
    if args.pid:
        os.kill(args.pid, signal.SIGTERM)
        print(json.dumps({"signalled": args.pid}))
        return 0
    if not has_redis(config) or not args.owner:
        print("parloir drain: give --pid, or --owner with REDIS_URL (or REDIS_SENTINELS) set",
              file=sys.stderr)  # fmt: skip
        return 2
    redis = connect(config)
    try:
        heard = await redis.publish(channel(args.owner), json.dumps({"op": "drain"}))
        if not heard:
            print(f"parloir drain: {args.owner} is not listening", file=sys.stderr)
            return 1
        if args.wait:
            await _gone(redis, args.owner)
    finally:
        await close_redis(redis)
    print(json.dumps({"drained" if args.wait else "asked": args.owner}))
    return 0


def _refuse(command: str, sentence: str) -> int:
    """A start-up refusal: one sentence on stderr and exit status 1, never a traceback."""
    print(f"parloir {command} : {sentence}", file=sys.stderr, flush=True)
    return 1


def _describe(info: dict[str, Any]) -> str:
    lines = ["Parloir est prêt / Parloir is ready", ""]
    if "detainee" in info:
        lines += [
            f"  Borne (kiosk):            {info['kiosk_url']}",
            f"    numéro d'écrou:         {info['detainee']}",
            f"    code d'accès:           {info['access_code']}",
            f"  Proche (relative):        {info['join_url']}",
            f"    téléphone:              {info['correspondent_phone']}",
            f"    SMS (outbox):           {info['sms_outbox']}",
            "",
            "  Le code à 6 chiffres arrive dans l'outbox quand la borne appelle.",
        ]
    if "kiosk_enrolment_code" in info:
        lines += [
            "",
            "  Enrôler la borne d'abord (une fois, dans le navigateur de la borne) :",
            f"    {info['url']}/kiosk/enrolement?code={info['kiosk_enrolment_code']}",
            "",
            f"  Agents (staff):           {info['url']}/connexion",
        ]
        lines += [f"    {login:<14} {pw}" for login, pw in info["staff"].items()]
    else:
        lines += [f"  {info['url']}"]
    lines += ["", "  Ctrl+C pour arrêter / to stop."]
    return "\n".join(lines)


async def print_slots(args: argparse.Namespace) -> int:
    """The establishment's calendar as JSON: every grid slot with its verdict."""
    config = from_environ(args.config)
    est = establishment_of(config)
    try:
        first = date.fromisoformat(args.from_)
        now = datetime.fromisoformat(args.now) if args.now else datetime.now(UTC)
    except ValueError as exc:
        print(f"parloir slots: {exc}", file=sys.stderr)
        return 2
    if now.tzinfo is None:
        now = now.replace(tzinfo=est.zone)  # a bare time is the establishment's local time
    if not 1 <= args.days <= 366:
        print("parloir slots: --days must be 1 to 366", file=sys.stderr)
        return 2
    if has_redis(config):  # with the bookings: slots where every kiosk is taken are "full"
        redis = connect(config)
        try:
            directory = Directory(redis)
            desk = BookingDesk(redis, directory, Ledger(redis), est)
            listed = await desk.establishment_slots(first, args.days, now.timestamp())
        finally:
            await close_redis(redis)
    else:
        listed = slots(est.grid, first, args.days, now)
    print(json.dumps(slots_json(listed), ensure_ascii=False, indent=1))
    return 0


async def recordings_command(args: argparse.Namespace) -> int:
    """``recordings verify``: check the manifest chain and every file; ``recordings purge``:
    destroy what is past retention (not on legal hold), with the destruction register."""
    config = from_environ(args.config)
    root = config.recordings_path
    if args.action == "verify":
        report = await asyncio.to_thread(verify, root)
        print(json.dumps({"ok": report.ok, "checked": report.checked,
                          "problems": report.problems}, ensure_ascii=False, indent=1))  # fmt: skip
        return 0 if report.ok else 1
    if not has_redis(config):
        print("parloir recordings purge: set REDIS_URL or REDIS_SENTINELS (holds are in Redis)",
              file=sys.stderr)  # fmt: skip
        return 2
    now = datetime.fromisoformat(args.now) if args.now else datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    redis = connect(config)
    try:
        held = await RecordingStore(redis).held_ids()
        records = await asyncio.to_thread(
            purge, root, now, config.retention_days, held.__contains__, "parloir:cli"
        )
        audit = Audit(redis)
        for record in records:
            await RecordingStore(redis).finished(
                record.call_id, now.timestamp(), "destroyed", destroyed_at=record.destroyed_at
            )
            await audit.record("parloir:cli", "recording.destroy", record.call_id,
                               now.timestamp(), manifest=record.manifest)  # fmt: skip
    finally:
        await close_redis(redis)
    print(json.dumps({"destroyed": [r.call_id for r in records]}, indent=1))
    return 0


async def staff_command(args: argparse.Namespace) -> int:
    """``staff create-admin --login L --name N``: the first administrator (or another one).
    The password is read twice from the terminal, or once from stdin with --password-stdin:
    there is no default password anywhere."""
    config = from_environ(args.config, data_dir=args.data_dir)
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Mot de passe / password (12+): ")
        if getpass.getpass("Encore / again: ") != password:
            print("parloir staff: les mots de passe diffèrent / passwords differ", file=sys.stderr)
            return 2
    embedded = None
    url = config.redis_url
    if not has_redis(config):
        embedded = EmbeddedRedis(config.data_path / "redis")
        if await asyncio.to_thread(embedded.answering):
            url, embedded = embedded.url, None  # the running gateway's own Redis
        else:
            await asyncio.to_thread(embedded.start)
            url = embedded.url
    redis = connect(config, url)
    try:
        accounts = StaffAccounts(redis)
        member = await accounts.create(
            args.login, args.name, [Role.ADMIN], password, "parloir:cli", time.time()
        )
        await Audit(redis).record(
            "parloir:cli", "staff.create", member.login, time.time(), roles="admin"
        )
    except StaffError as exc:
        print(f"parloir staff: {exc.reason}", file=sys.stderr)
        return 1
    except TextRefused as exc:  # e.g. a name holding a direction override
        print(f"parloir staff: {exc.reason}: {exc.fr}", file=sys.stderr)
        return 1
    finally:
        await close_redis(redis)
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)
    print(json.dumps({"created": member.login, "roles": ["admin"]}))
    return 0


async def check_texts_command(args: argparse.Namespace) -> int:
    """``check-texts``: list the stored texts that break the text rule (exit 1 if any)."""
    config = from_environ(args.config)
    if not has_redis(config):
        print("parloir check-texts: set REDIS_URL or REDIS_SENTINELS", file=sys.stderr)
        return 2
    redis = connect(config)
    try:
        found = await broken_texts_in(redis)
    finally:
        await close_redis(redis)
    print(json.dumps({"broken": found}, ensure_ascii=False, indent=1))
    return 1 if found else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="parloir", description="Parloir video-call gateway")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (("demo", "run with a demo establishment"), ("serve", "run the gateway")):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("--json", action="store_true", help="print the start-up info as JSON")
        cmd.add_argument("--config", help="TOML configuration file")
        cmd.add_argument("--host", help="listen address")
        cmd.add_argument("--port", type=int, help="listen port (0: any free port)")
        cmd.add_argument("--data-dir", help="data folder (embedded Redis, outbox)")
    cmd = sub.add_parser("slots", help="print the establishment's slots as JSON")
    cmd.add_argument("--from", dest="from_", required=True, help="first day, YYYY-MM-DD")
    cmd.add_argument("--days", type=int, default=7, help="number of days (default 7)")
    cmd.add_argument("--now", help="ISO 8601 date-time to judge from (default: now)")
    cmd.add_argument("--config", help="TOML configuration file")
    cmd = sub.add_parser("recordings", help="verify or purge the recordings")
    cmd.add_argument("action", choices=("verify", "purge"))
    cmd.add_argument("--now", help="ISO 8601 date-time the purge judges from (default: now)")
    cmd.add_argument("--config", help="TOML configuration file")
    cmd = sub.add_parser("staff", help="staff accounts: create-admin")
    cmd.add_argument("action", choices=("create-admin",))
    cmd.add_argument("--login", required=True)
    cmd.add_argument("--name", required=True, help="name written in the audit log")
    cmd.add_argument("--password-stdin", action="store_true", help="read the password on stdin")
    cmd.add_argument("--config", help="TOML configuration file")
    cmd.add_argument("--data-dir", help="data folder (embedded Redis)")
    cmd = sub.add_parser("drain", help="stop a process after its live calls (upgrades)")
    cmd.add_argument("--pid", type=int, help="process id on this machine (sends SIGTERM)")
    cmd.add_argument("--owner", help="process name (parloir_process_info's owner), via Redis")
    cmd.add_argument("--wait", action="store_true", help="wait until it has left the cluster")
    cmd.add_argument("--config", help="TOML configuration file")
    for name, text in (
        ("backup", "back up Redis's parloir: keys and the recordings to DIR"),
        ("restore", "restore DIR into a fresh Redis and recordings folder"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("folder", metavar="DIR")
        cmd.add_argument("--config", help="TOML configuration file")
    cmd = sub.add_parser("check-texts", help="report stored texts breaking the text rule")
    cmd.add_argument("--config", help="TOML configuration file")
    args = parser.parse_args(argv)
    commands = {"backup": backup_command, "restore": backup_command, "drain": drain_command,
                "check-texts": check_texts_command, "staff": staff_command,
                "recordings": recordings_command, "slots": print_slots}  # fmt: skip
    try:
        if args.command in commands:
            return asyncio.run(commands[args.command](args))
        return serve(args)  # serve, demo: on the event loop the configuration names
    except ConfigError as exc:  # a bad setting: one sentence, no traceback
        return _refuse(args.command, f"configuration invalide : {exc}")


if __name__ == "__main__":
    sys.exit(main())
