"""Every route of the application, declared once: method, path, what it needs, what handles it,
what it takes and what it refuses.

This is the pure half of the route table (no aiohttp here: the core holds data, the HTTP layer
binds it). From it come the aiohttp router (:mod:`gateway.http.routes` resolves ``handler`` in
``gateway.http`` and serves ``page`` from ``web/``), the authorization matrix
(:data:`gateway.core.roles.ROUTES`), the staff-network prefixes (:func:`staff_prefixes`) and the
OpenAPI document's paths (:mod:`gateway.http.openapi` adds the prose, keyed by ``op``).

A route's ``body`` names the request model (:mod:`gateway.http.models`): its fields' refusals
(``field.<name>``) are added to the 400s of the document from the model itself, so ``refusals``
lists only the other ones. The staff session's own refusals (401 ``staff.login_required``, 403
``staff.forbidden``/``staff.csrf``…) follow from ``perm`` and are not listed either.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.core.roles import Perm

__all__ = ["ROUTE_TABLE", "Route", "matrix", "staff_prefixes"]

_G, _P = "GET", "POST"
HTTP_413 = ("http.413",)


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # aiohttp's canonical form: ``{name}`` placeholders
    perm: Perm
    handler: str = ""  # "module.function" under gateway.http (or a full dotted path)
    page: str = ""  # a file of web/ served as it is, instead of a handler
    static: str = ""  # a folder of web/ served under ``path``
    op: str = ""  # the OpenAPI operationId (every /api/ route has one)
    body: str = ""  # the request model's name
    refusals: dict[int, tuple[str, ...]] = field(default_factory=dict)
    staff_network: bool | None = None  # None: staff network only unless public

    @property
    def staff_only(self) -> bool:
        """Served only to the ``staff_networks`` (the staff pages and API, and the sign-in)."""
        if self.staff_network is None:
            return self.perm is not Perm.PUBLIC
        return self.staff_network

    @property
    def session(self) -> bool:
        """Needs a signed-in member."""
        return self.perm is not Perm.PUBLIC


# fmt: off
ROUTE_TABLE: tuple[Route, ...] = (
    # Public: the relative, the kiosk, the browsers' shared files.
    Route(_G, "/", Perm.PUBLIC, page="join.html"),
    Route(_G, "/join", Perm.PUBLIC, page="join.html"),
    # the information notice
    Route(_G, "/confidentialite", Perm.PUBLIC, handler="notice.notice_page"),
    # the relative's page as an installable web app
    Route(_G, "/sw.js", Perm.PUBLIC, handler="notice.service_worker"),
    Route(_G, "/manifest.webmanifest", Perm.PUBLIC, handler="notice.manifest"),
    Route(_G, "/kiosk", Perm.PUBLIC, handler="app.kiosk_page"),
    Route(_G, "/kiosk/enrolement", Perm.PUBLIC, page="kiosk-enrol.html"),
    Route(_P, "/api/kiosk/enrol", Perm.PUBLIC, handler="staff_api.kiosk_enrol", op="enrolKiosk",
          body="KioskEnrolRequest", refusals={400: ("request.malformed",),
          403: ("kiosk.bad_enrolment_code",), 413: HTTP_413, 429: ("rate_limited",)}),
    Route(_P, "/api/kiosk/login", Perm.PUBLIC, handler="public_api.kiosk_login", op="kioskLogin",
          body="KioskLoginRequest", refusals={400: ("request.malformed",),
          401: ("kiosk.not_enrolled", "kiosk.bad_credentials"), 413: HTTP_413,
          429: ("rate_limited",)}),
    Route(_P, "/api/join", Perm.PUBLIC, handler="public_api.join", op="joinCall",
          body="JoinRequest",
          refusals={400: ("request.malformed",),
          403: ("code.invalid", "code.expired", "code.used", "code.burned"), 413: HTTP_413,
          429: ("rate_limited",)}),
    # signed by the SMS provider (sms_api)
    Route(_P, "/api/sms/status", Perm.PUBLIC, handler="sms_api.status_webhook",
          op="smsStatusWebhook", refusals={400: ("request.malformed", "sms.webhook.bad_status"),
          401: ("sms.webhook.signature_missing", "sms.webhook.signature_malformed",
           "sms.webhook.signature_invalid", "sms.webhook.stale"), 404: ("sms.webhook.disabled",),
          413: HTTP_413}),
    Route(_G, "/ws", Perm.PUBLIC, handler="signaling.websocket.handle_ws"),
    Route(_G, "/config.js", Perm.PUBLIC, handler="app.client_config"),
    # says only "ok"
    Route(_G, "/healthz", Perm.PUBLIC, handler="health.healthz"),
    # ready or not, with the failed checks; no detail
    Route(_G, "/readyz", Perm.PUBLIC, handler="health.readyz"),
    # Staff networks only (STAFF_PREFIXES), no session: Prometheus scrapes without one.
    Route(_G, "/metrics", Perm.PUBLIC, handler="health.metrics", staff_network=True),
    Route(_G, "/favicon.ico", Perm.PUBLIC, handler="app.no_content"),
    Route(_G, "/static", Perm.PUBLIC, static="static"),
    Route(_G, "/api/slots", Perm.PUBLIC, handler="desk_api.public_slots", op="listSlots",
          refusals={400: ("request.bad_date", "request.bad_days")}),
    Route(_G, "/connexion", Perm.PUBLIC, page="login.html", staff_network=True),
    Route(_P, "/api/staff/login", Perm.PUBLIC, handler="staff_api.login", op="staffLogin",
          body="StaffLoginRequest", staff_network=True,
          refusals={400: ("request.malformed",),
          401: ("staff.bad_credentials",), 413: HTTP_413, 429: ("staff.locked", "rate_limited")}),
    # Any staff member, about their own session.
    Route(_G, "/api/staff/me", Perm.STAFF, handler="staff_api.me", op="staffMe"),
    Route(_P, "/api/staff/logout", Perm.STAFF, handler="staff_api.logout", op="staffLogout"),
    Route(_P, "/api/staff/password", Perm.STAFF, handler="staff_api.change_password",
          op="changePassword", body="PasswordRequest",
          refusals={400: ("request.malformed", "staff.weak_password", "staff.same_password"),
          401: ("staff.bad_credentials",), 413: HTTP_413, 429: ("staff.locked",)}),
    Route(_G, "/api/openapi.json", Perm.STAFF, handler="openapi.serve", op="getOpenApi"),
    Route(_G, "/api/desk/establishment", Perm.STAFF, handler="desk_api.establishment",
          op="getEstablishment"),
    # Booking desk.
    Route(_G, "/desk", Perm.DESK_VIEW, page="desk.html"),
    Route(_G, "/desk/jour", Perm.DESK_VIEW, page="desk-day.html"),
    Route(_G, "/desk/charte", Perm.DESK_VIEW, page="desk-charter.html"),
    Route(_G, "/desk/mouvements", Perm.MOVEMENTS, page="desk-movements.html"),
    Route(_G, "/desk/import", Perm.PEOPLE, page="desk-import.html"),
    Route(_G, "/api/desk/calendar", Perm.DESK_VIEW, handler="desk_api.calendar",
          op="getKioskCalendar", refusals={400: ("request.bad_date", "request.bad_days"),
          404: ("booking.unknown_kiosk",)}),
    Route(_G, "/api/desk/detainees", Perm.DESK_VIEW, handler="desk_api.search",
          op="searchDetainees"),
    Route(_G, "/api/desk/detainees/{number}", Perm.DESK_VIEW, handler="desk_api.detainee_file",
          op="getDetaineeFile", refusals={404: ("booking.unknown_detainee",)}),
    Route(_G, "/api/desk/bookings/{bid}", Perm.DESK_VIEW, handler="desk_api.get_booking",
          op="getBooking", refusals={404: ("booking.not_found",)}),
    Route(_G, "/api/desk/bookings/{bid}/receipt.pdf", Perm.DESK_VIEW, handler="desk_api.receipt",
          op="getBookingReceipt", refusals={404: ("booking.not_found",)}),
    Route(_G, "/api/desk/day", Perm.MOVEMENTS, handler="desk_api.day_list", op="getDayList",
          refusals={400: ("request.bad_date",)}),
    Route(_P, "/api/desk/bookings", Perm.BOOK, handler="desk_api.create_booking",
          op="createBooking", body="BookingRequest",
          refusals={400: ("request.malformed", "booking.bad_guard"),
          404: ("booking.unknown_kiosk", "booking.unknown_detainee",
           "booking.unknown_correspondent"),
          409: ("booking.detainee_released", "booking.detainee_suspended",
           "booking.charter_not_signed", "booking.correspondent_not_authorised",
           "booking.minor_without_consent", "booking.sunday", "booking.holiday",
           "booking.not_in_grid", "booking.in_past", "booking.too_late", "booking.quota",
           "booking.kiosk_busy", "booking.number_sanctioned", "booking.detainee_sanctioned",
           "booking.insufficient_credit"), 413: HTTP_413,
          503: ("booking.contended", "booking.unreplicated")}),
    Route(_P, "/api/desk/bookings/{bid}/cancel", Perm.BOOK, handler="desk_api.cancel_booking",
          op="cancelBooking", body="CancelRequest",
          refusals={400: ("request.malformed", "booking.bad_guard"),
          404: ("booking.not_found",), 409: ("booking.not_cancellable",), 413: HTTP_413,
          503: ("booking.contended", "booking.unreplicated")}),
    Route(_P, "/api/desk/detainees/{number}/charter", Perm.BOOK, handler="desk_api.sign_charter",
          op="signCharter", refusals={404: ("booking.unknown_detainee",)}),
    Route(_P, "/api/desk/detainees", Perm.PEOPLE, handler="desk_api.save_detainee",
          op="saveDetainee", body="DetaineeInput", refusals={400: ("request.malformed",),
          413: HTTP_413}),
    Route(_P, "/api/desk/detainees/{number}/correspondents", Perm.PEOPLE,
          handler="desk_api.save_correspondent", op="addCorrespondent", body="CorrespondentInput",
          refusals={400: ("request.malformed", "phone.invalid"),
          404: ("booking.unknown_detainee",), 413: HTTP_413}),
    Route(_P, "/api/desk/correspondents/{cid}", Perm.PEOPLE, handler="desk_api.save_correspondent",
          op="updateCorrespondent", body="CorrespondentInput",
          refusals={400: ("request.malformed", "phone.invalid"),
          404: ("booking.unknown_correspondent",), 413: HTTP_413}),
    Route(_P, "/api/desk/import/{kind}", Perm.PEOPLE, handler="desk_api.import_people",
          op="importPeople", refusals={404: ("http.404",), 413: HTTP_413}),
    # Accounts office.
    Route(_G, "/regie", Perm.ACCOUNTS_READ, page="regie.html"),
    Route(_G, "/api/regie/tariffs", Perm.ACCOUNTS_READ, handler="regie_api.tariffs",
          op="listTariffs"),
    Route(_G, "/api/regie/accounts/{number}/statement", Perm.ACCOUNTS_READ,
          handler="regie_api.statement_view", op="getStatement",
          refusals={404: ("booking.unknown_detainee",)}),
    Route(_G, "/api/regie/accounts/{number}/statement.csv", Perm.ACCOUNTS_READ,
          handler="regie_api.statement_download", op="downloadStatement",
          refusals={404: ("booking.unknown_detainee",)}),
    Route(_G, "/api/regie/report", Perm.ACCOUNTS_READ, handler="regie_api.report",
          op="getDailyReport", refusals={400: ("request.bad_date",)}),
    Route(_P, "/api/regie/credits", Perm.ACCOUNTS, handler="regie_api.credit", op="creditAccount",
          body="CreditRequest",
          refusals={400: ("request.malformed", "ledger.bad_amount", "ledger.bad_argument"),
          404: ("booking.unknown_detainee",), 409: ("ledger.idempotency_conflict",),
          413: HTTP_413, 503: ("ledger.unreplicated",)}),
    Route(_P, "/api/regie/import/credits", Perm.ACCOUNTS, handler="regie_api.import_credits",
          op="importCredits", refusals={413: HTTP_413}),
    Route(_P, "/api/regie/accounts/{number}/tariff", Perm.ACCOUNTS, handler="regie_api.set_tariff",
          op="setTariff", body="TariffRequest",
          refusals={400: ("request.malformed", "ledger.unknown_tariff",
          "ledger.bad_argument"), 404: ("booking.unknown_detainee",), 413: HTTP_413}),
    Route(_P, "/api/regie/refunds", Perm.REFUNDS, handler="regie_api.refund", op="refundCall",
          body="RefundRequest",
          refusals={400: ("request.malformed", "ledger.bad_amount", "ledger.bad_argument"),
          404: ("booking.not_found", "ledger.unknown_call"),
          409: ("ledger.refund_exceeds_charge", "ledger.idempotency_conflict"), 413: HTTP_413,
          503: ("ledger.unreplicated",)}),
    # Monitoring and recordings.
    Route(_G, "/monitor", Perm.MONITOR, page="monitor.html"),
    Route(_G, "/api/monitor/calls", Perm.MONITOR, handler="monitor_api.live_calls",
          op="listLiveCalls"),
    Route(_P, "/api/monitor/calls/{call}/watch", Perm.MONITOR, handler="monitor_api.watch",
          op="watchCall", body="WatchRequest", refusals={400: ("request.malformed",),
          404: ("monitor.no_call",), 409: ("monitor.lawyer", "monitor.call_ended"), 413: HTTP_413,
          422: ("signaling.bad_sdp",)}),
    Route(_P, "/api/monitor/calls/{call}/flag", Perm.MONITOR, handler="monitor_api.flag",
          op="flagCall", body="FlagRequest", refusals={400: ("request.malformed",),
          404: ("monitor.no_call",), 413: HTTP_413}),
    Route(_P, "/api/monitor/calls/{call}/cut", Perm.MONITOR, handler="monitor_api.cut",
          op="cutCall", body="CutRequest", refusals={400: ("request.malformed",),
          404: ("monitor.no_call",), 413: HTTP_413}),
    Route(_G, "/enregistrements", Perm.RECORDINGS, page="recordings.html"),
    Route(_G, "/api/recordings", Perm.RECORDINGS, handler="monitor_api.recordings",
          op="listRecordings", refusals={400: ("request.bad_date",)}),
    Route(_G, "/api/recordings/{call}", Perm.RECORDINGS, handler="monitor_api.recording",
          op="getRecording", refusals={404: ("recording.not_found",)}),
    Route(_G, "/api/recordings/{call}/{side}.webm", Perm.RECORDINGS, handler="monitor_api.media",
          op="getRecordingMedia", refusals={404: ("http.404",)}),
    Route(_P, "/api/recordings/{call}/hold", Perm.LEGAL_HOLD, handler="monitor_api.hold",
          op="holdRecording", body="HoldRequest",
          refusals={400: ("request.malformed",), 404: ("http.404",),
          413: HTTP_413}),
    Route(_G, "/audit", Perm.AUDIT, page="audit.html"),
    Route(_G, "/api/audit", Perm.AUDIT, handler="monitor_api.audit_log", op="getAuditLog",
          refusals={400: ("request.bad_date",)}),
    Route(_G, "/api/audit.csv", Perm.AUDIT, handler="monitor_api.audit_log", op="downloadAuditLog",
          refusals={400: ("request.bad_date",)}),
    # The head of the prison.
    Route(_G, "/direction", Perm.SANCTIONS, page="direction.html"),
    Route(_G, "/api/direction/sanctions", Perm.SANCTIONS, handler="direction_api.list_sanctions",
          op="listSanctions"),
    Route(_P, "/api/direction/sanctions", Perm.SANCTIONS, handler="direction_api.sanction_number",
          op="sanctionNumber", body="SanctionRequest",
          refusals={400: ("request.malformed", "phone.invalid", "request.bad_date"),
          413: HTTP_413}),
    Route(_P, "/api/direction/sanctions/{phone}/lift", Perm.SANCTIONS,
          handler="direction_api.lift_sanction", op="liftSanction",
          refusals={400: ("phone.invalid",), 404: ("http.404",)}),
    Route(_G, "/api/direction/detainee-sanctions", Perm.SANCTIONS,
          handler="direction_api.list_detainee_sanctions", op="listDetaineeSanctions"),
    Route(_P, "/api/direction/detainees/{number}/sanctions", Perm.SANCTIONS,
          handler="direction_api.sanction_detainee", op="sanctionDetainee",
          body="DetaineeSanctionRequest",
          refusals={400: ("request.malformed", "request.bad_date"),
          404: ("booking.unknown_detainee",), 413: HTTP_413}),
    Route(_P, "/api/direction/detainees/{number}/sanctions/lift", Perm.SANCTIONS,
          handler="direction_api.lift_detainee_sanction", op="liftDetaineeSanction",
          refusals={404: ("sanction.not_found",)}),
    Route(_P, "/api/direction/bookings/{bid}/extend", Perm.EXTENSIONS,
          handler="direction_api.extend_booking", op="extendBooking", body="ExtendRequest",
          refusals={400: ("request.malformed", "booking.bad_extension"),
          404: ("booking.not_found",),
          409: ("booking.not_extendable", "booking.insufficient_credit"), 413: HTTP_413,
          503: ("booking.contended", "booking.unreplicated")}),
    # The administrator.
    Route(_G, "/admin", Perm.ADMIN, page="admin.html"),
    Route(_G, "/api/admin/staff", Perm.ADMIN, handler="staff_api.list_staff", op="listStaff"),
    Route(_P, "/api/admin/staff", Perm.ADMIN, handler="staff_api.create_staff", op="createStaff",
          body="StaffCreateRequest",
          refusals={400: ("request.malformed", "staff.bad_login", "staff.no_role"),
          409: ("staff.exists",), 413: HTTP_413}),
    Route(_P, "/api/admin/staff/{login}", Perm.ADMIN, handler="staff_api.update_staff",
          op="updateStaff", body="StaffUpdateRequest",
          refusals={400: ("request.malformed", "staff.no_role"),
          404: ("staff.not_found",),
          409: ("staff.last_admin",), 413: HTTP_413}),
    Route(_G, "/api/admin/kiosks", Perm.ADMIN, handler="staff_api.list_kiosks", op="listKiosks"),
    Route(_P, "/api/admin/kiosks/{kiosk}/enrol", Perm.ADMIN, handler="staff_api.enrol_kiosk",
          op="startKioskEnrolment", refusals={404: ("kiosk.unknown",)}),
    Route(_P, "/api/admin/kiosks/{kiosk}/revoke", Perm.ADMIN, handler="staff_api.revoke_kiosk",
          op="revokeKiosk", refusals={404: ("kiosk.unknown",)}),
)
# fmt: on


def matrix() -> dict[tuple[str, str], Perm]:
    """(method, canonical path) -> the permission it needs: what the middleware checks."""
    return {(r.method, r.path): r.perm for r in ROUTE_TABLE}


def staff_prefixes() -> tuple[str, ...]:
    """The path prefixes served to the staff networks only: the area of each staff route
    (``/api/desk`` for ``/api/desk/...``, ``/desk`` for ``/desk/jour``), so that anything
    under it, routed or not, is refused to other networks."""
    areas: set[str] = set()
    for r in ROUTE_TABLE:
        if r.staff_only:
            parts = r.path.split("/")
            areas.add("/".join(parts[:3] if r.path.startswith("/api/") else parts[:2]))
    ordered = sorted(areas)
    return tuple(a for a in ordered if not any(a != b and a.startswith(b) for b in ordered))
