"""JSON API of the monitoring staff: live calls, watching, flags, cutting; recordings; audit.

Every use is written to the audit log (Code pénitentiaire L. 223-3): who watched which call,
who played or downloaded which recording, every flag, cut and legal hold. Staff network only
(see :mod:`gateway.app`); the audit log names the signed-in member (:mod:`gateway.core.roles`).

Any process serves every call of the service: the list comes from Redis, and watching or
cutting a call is asked of the process that owns it (:mod:`gateway.service.cluster`), whose answer
sends the viewer's WebRTC straight to that process.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from gateway.core.records import DirectoryError, to_e164
from gateway.core.sms_queue import failure_kind
from gateway.http import appkeys as keys
from gateway.http.desk_api import parse_day, parsed
from gateway.http.models import CutRequest, FlagRequest, HoldRequest, WatchRequest
from gateway.http.refusals import answer, error, lang_of
from gateway.http.staff_auth import actor
from gateway.media.calls import BadSdp, CallError
from gateway.service.engine import CallEngine
from gateway.service.sms import mask_phone
from gateway.store.directory import Directory
from recorder.audit import Audit, audit_csv
from recorder.store import RecordingStore

SIDES = ("kiosk", "relative")


def _engine(request: web.Request) -> CallEngine:
    return request.app[keys.ENGINE]


def _audit(request: web.Request) -> Audit:
    return request.app[keys.AUDIT]


def _now(request: web.Request) -> float:
    return _engine(request).clock()


def refuse(request: web.Request, reason: str, variant: str = "", **values: object) -> web.Response:
    return answer(reason, lang_of(request), variant, **values)


async def live_calls(request: web.Request) -> web.Response:
    """GET /api/monitor/calls: every call in progress, with who, where and how long left."""
    engine = _engine(request)
    directory: Directory = request.app[keys.DIRECTORY]
    live = set(await engine.cluster.live()) | {engine.owner}
    out = []
    for call_id in sorted(await engine.records.live_ids()):
        record = await engine.records.get(call_id)
        if not record:
            continue
        detainee = await directory.detainee(record.get("detainee", ""))
        corr = await directory.correspondent(record.get("correspondent", ""))
        rec = await engine.recordings.get(call_id)
        out.append(
            {
                "id": call_id,
                "state": record.get("state"),
                "kiosk": record.get("kiosk"),
                "owner": record.get("owner"),
                "watchable": record.get("owner") in live and not (corr and corr.lawyer),
                "created_at": _ms(record.get("created_at")),
                "connected_at": _ms(record.get("connected_at")),
                "ends_at": _ms(record.get("ends_at")),
                "detainee": {
                    "number": detainee.number if detainee else record.get("detainee"),
                    "name": detainee.full_name if detainee else "",
                },
                "correspondent": {
                    "name": corr.name if corr else "",
                    "relationship": corr.relationship if corr else "",
                    "phone_masked": mask_phone(corr.phone) if corr else "",
                    "lawyer": bool(corr and corr.lawyer),
                },
                "recording": (rec or {}).get("state", "none"),
                # What became of the code's SMS (sent, delivered, failed), its latest word.
                "sms": _sms(record["sms_status"], record.get("sms_reason", ""))
                if record.get("sms_status")
                else None,
                # The relative's camera off or sound only, by choice (their latest word).
                "relative_media": record.get("relative_media", "video"),
            }
        )
    return web.json_response({"server_time": int(_now(request) * 1000), "calls": out})


def _sms(status: str, reason: str) -> dict[str, Any]:
    """The SMS's status and reason, and for a failure what the page says of it (its kind)."""
    failure = failure_kind(reason) if status == "failed" else None
    return {"status": status, "reason": reason, "failure": failure}


def _ms(raw: str | None) -> int | None:
    return int(float(raw) * 1000) if raw else None


async def _at_owner(request: web.Request, method: str, **args: Any) -> dict[str, Any]:
    """Run ``method`` on the process owning the call (this one or another)."""
    try:
        return await _engine(request).at_owner(request.match_info["call"], method, **args)
    except CallError as exc:
        if exc.reason == "monitor.no_call":
            raise error("monitor.no_call", lang_of(request)) from exc
        raise


async def watch(request: web.Request) -> web.Response:
    """POST /api/monitor/calls/{call}/watch {sdp, staff}: a receive-only WebRTC answer."""
    sdp = parsed(request, WatchRequest).sdp
    staff = actor(request)
    call_id = request.match_info["call"]
    try:
        answer = await _at_owner(request, "watch", sdp=sdp)
    except BadSdp as exc:
        return refuse(request, exc.reason, "detail", detail=exc.detail)
    except CallError as exc:
        return refuse(request, exc.reason)
    await _audit(request).record(staff, "monitor.watch", call_id, _now(request))
    return web.json_response({"sdp": answer["sdp"], "tracks": answer["tracks"]})


async def flag(request: web.Request) -> web.Response:
    """POST /api/monitor/calls/{call}/flag {staff, comment, at?}: mark a moment."""
    given = parsed(request, FlagRequest)
    staff, comment = actor(request), given.comment
    call_id = request.match_info["call"]
    if await _engine(request).recordings.get(call_id) is None:
        # Only a recorded call can be flagged (never a lawyer's: it is not recorded).
        if await _engine(request).owner_of(call_id) is not None:
            return refuse(request, "monitor.not_recorded")
        raise error("monitor.no_call", lang_of(request), "flag")
    at = given.at
    when = float(at) / 1000 if isinstance(at, int | float) and at > 0 else _now(request)
    store: RecordingStore = _engine(request).recordings
    flag_id = await store.flag(call_id, when, staff, comment)
    await _audit(request).record(staff, "call.flag", call_id, _now(request), comment=comment)
    return web.json_response({"id": flag_id, "at": int(when * 1000)}, status=201)


async def cut(request: web.Request) -> web.Response:
    """POST /api/monitor/calls/{call}/cut {staff, reason}: end the call for both sides."""
    reason = parsed(request, CutRequest).reason
    staff = actor(request)
    call_id = request.match_info["call"]
    try:
        done = await _at_owner(request, "cut")
    except CallError as exc:
        return refuse(request, exc.reason, "cut" if exc.reason == "monitor.lawyer" else "")
    await _audit(request).record(staff, "call.cut", call_id, _now(request), reason=reason)
    return web.json_response(done)


# -- recordings ------------------------------------------------------------------------------


async def recordings(request: web.Request) -> web.Response:
    """GET /api/recordings?from=&to=&detainee=&correspondent=&phone=&flagged=1"""
    engine = _engine(request)
    zone = request.app[keys.DESK].establishment.zone
    today = datetime.fromtimestamp(_now(request), zone).date()
    first = parse_day(request.query.get("from"), today - timedelta(days=90))
    last = parse_day(request.query.get("to"), today)
    begin = datetime.combine(first, datetime.min.time(), zone).astimezone(UTC).timestamp()
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), zone)
    found = await engine.recordings.between(begin, end.astimezone(UTC).timestamp())
    q = request.query
    directory: Directory = request.app[keys.DIRECTORY]
    out = []
    for rec in sorted(found, key=lambda r: float(r["started_at"]), reverse=True):
        if q.get("detainee") and rec.get("detainee") != q["detainee"]:
            continue
        if q.get("correspondent") and rec.get("correspondent") != q["correspondent"]:
            continue
        if q.get("phone") and phone_key(q["phone"]) not in rec.get("phone", ""):
            continue
        if q.get("flagged") in ("1", "true") and int(rec.get("flags", "0")) == 0:
            continue
        out.append(await _recording_json(rec, directory))
    return web.json_response(out)


def phone_key(raw: str) -> str:
    """A typed number as stored (E.164) when it parses, else its digits: "06 12…" finds +336…."""
    try:
        return to_e164(raw)
    except DirectoryError:
        return "".join(c for c in raw if c.isdigit())


async def _recording_json(rec: dict[str, str], directory: Directory) -> dict[str, Any]:
    detainee = await directory.detainee(rec.get("detainee", ""))
    corr = await directory.correspondent(rec.get("correspondent", ""))
    return {
        "call": rec["call"],
        "state": rec.get("state"),
        "started_at": _ms(rec.get("started_at")),
        "ended_at": _ms(rec.get("ended_at")),
        "detainee": rec.get("detainee"),
        "detainee_name": detainee.full_name if detainee else "",
        "correspondent": rec.get("correspondent"),
        "correspondent_name": corr.name if corr else "",
        "phone": rec.get("phone", ""),
        "kiosk": rec.get("kiosk"),
        "flags": int(rec.get("flags", "0")),
        "legal_hold": rec.get("legal_hold") == "1",
        "hold_reason": rec.get("hold_reason", ""),
        "failure": rec.get("failure", ""),
    }


async def recording(request: web.Request) -> web.Response:
    """GET /api/recordings/{call}: the recording, its files and flags."""
    engine = _engine(request)
    rec = await engine.recordings.get(request.match_info["call"])
    if rec is None:
        raise error("recording.not_found", lang_of(request))
    data = await _recording_json(rec, request.app[keys.DIRECTORY])
    folder = engine.config.recordings_path / rec.get("folder", "")
    data["files"] = [
        {"side": side, "url": f"/api/recordings/{rec['call']}/{side}.webm"}
        for side in SIDES
        if (folder / f"{side}.webm").exists()
    ]
    data["flags_list"] = [
        {"id": f.id, "at": int(f.at * 1000), "by": f.by, "comment": f.comment}
        for f in await engine.recordings.flags(rec["call"])
    ]
    return web.json_response(data)


async def media(request: web.Request) -> web.StreamResponse:
    """GET /api/recordings/{call}/{side}.webm[?staff=&download=1]: the file, with Range."""
    engine = _engine(request)
    side = request.match_info["side"]
    rec = await engine.recordings.get(request.match_info["call"])
    staff = actor(request)
    if side not in SIDES or rec is None:
        raise web.HTTPNotFound()
    path = engine.config.recordings_path / rec.get("folder", "") / f"{side}.webm"
    if not path.is_file():
        raise web.HTTPNotFound()
    download = request.query.get("download") in ("1", "true")
    # One audit entry per playback, not per range request: only the first range is logged.
    rng = request.headers.get("Range", "")
    if download or not rng or rng.startswith("bytes=0-"):
        action = "recording.download" if download else "recording.play"
        await _audit(request).record(staff, action, rec["call"], _now(request), side=side)
    response = web.FileResponse(path, chunk_size=256 * 1024)
    response.content_type = "video/webm"
    if download:
        name = f"{rec['call']}-{side}.webm"
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


async def hold(request: web.Request) -> web.Response:
    """POST /api/recordings/{call}/hold {staff, held, reason}: legal hold on or off."""
    given = parsed(request, HoldRequest)
    staff, reason, held = actor(request), given.reason, given.held
    engine = _engine(request)
    call_id = request.match_info["call"]
    if await engine.recordings.get(call_id) is None:
        raise web.HTTPNotFound()
    await engine.recordings.set_hold(call_id, held, staff, reason)
    action = "recording.hold" if held else "recording.release_hold"
    await _audit(request).record(staff, action, call_id, _now(request), reason=reason)
    return web.json_response({"call": call_id, "legal_hold": held})


async def audit_log(request: web.Request) -> web.StreamResponse:
    """GET /api/audit[.csv]?from=&to=&action=: the audit log."""
    zone = request.app[keys.DESK].establishment.zone
    today = datetime.fromtimestamp(_now(request), zone).date()
    first = parse_day(request.query.get("from"), today - timedelta(days=30))
    last = parse_day(request.query.get("to"), today)
    since = datetime.combine(first, datetime.min.time(), zone).timestamp()
    until = datetime.combine(last + timedelta(days=1), datetime.min.time(), zone).timestamp()
    entries = await _audit(request).entries(
        since=since, until=until, action=request.query.get("action") or None, limit=10_000
    )
    if request.path.endswith(".csv"):
        return web.Response(
            body=audit_csv(entries, zone),
            content_type="text/csv",
            charset="utf-8",
            headers={"Content-Disposition": 'attachment; filename="journal-audit.csv"'},
        )
    return web.json_response(
        [
            {"id": e.id, "at": int(e.at * 1000), "actor": e.actor, "action": e.action,
             "target": e.target, "details": e.details}
            for e in entries
        ]
    )  # fmt: skip
