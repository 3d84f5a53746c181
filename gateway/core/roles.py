"""Staff roles and what each may do: the authorization matrix, without any I/O.

Every route of the application is listed in :data:`ROUTES` with the permission it needs; the
middleware in :mod:`gateway.http.staff_auth` refuses a route that is missing (fail closed), and
``tests/test_authorization.py`` calls every route as every role. The README carries the same
matrix for people.

Who does what follows the service note: the activities-zone guard books and takes the
charter's signature; floor guards move detainees; monitoring staff watch and review; the
accounts office credits the phone accounts; the head of the prison (or a deputy) decides who
may be called (authorisations), sanctions, longer calls, refunds and legal holds, and reads the
audit log; the administrator manages staff accounts and kiosks, and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Role(StrEnum):
    ACTIVITIES = "activites"
    FLOOR = "etage"
    MONITORING = "surveillance"
    ACCOUNTS = "regie"
    HEAD = "direction"
    ADMIN = "admin"


ROLE_LABELS: dict[Role, tuple[str, str]] = {
    Role.ACTIVITIES: ("Surveillant de la zone d'activités", "Activities-zone guard"),
    Role.FLOOR: ("Surveillant d'étage", "Floor guard"),
    Role.MONITORING: ("Surveillance des appels", "Call monitoring"),
    Role.ACCOUNTS: ("Régie des comptes", "Accounts office"),
    Role.HEAD: ("Direction (chef d'établissement ou adjoint)", "Head of the prison or deputy"),
    Role.ADMIN: ("Administrateur", "Administrator"),
}


class Perm(StrEnum):
    PUBLIC = "public"  # anyone: the relative's page, the kiosk (device-checked by its handler)
    STAFF = "staff"  # any signed-in staff member: their own session, the API description
    DESK_VIEW = "desk_view"  # calendar, search, a detainee's file and correspondents, receipts
    BOOK = "book"  # book, cancel, record the charter's signature
    MOVEMENTS = "movements"  # the day's list and the movement list
    PEOPLE = "people"  # detainee records, authorised correspondents, CSV import of both
    MONITOR = "monitor"  # live calls: watch, flag, cut
    RECORDINGS = "recordings"  # recordings: search, play, download
    LEGAL_HOLD = "legal_hold"
    AUDIT = "audit"
    ACCOUNTS_READ = "accounts_read"  # statements, daily report, tariffs
    ACCOUNTS = "accounts"  # credits, credit import, an account's plan
    REFUNDS = "refunds"
    SANCTIONS = "sanctions"  # numbers and detainees
    EXTENSIONS = "extensions"  # a longer call for one booking
    ADMIN = "admin"  # staff accounts and kiosks


GRANTS: dict[Role, frozenset[Perm]] = {
    Role.ACTIVITIES: frozenset({Perm.DESK_VIEW, Perm.BOOK, Perm.MOVEMENTS}),
    Role.FLOOR: frozenset({Perm.MOVEMENTS}),
    Role.MONITORING: frozenset({Perm.MONITOR, Perm.RECORDINGS}),
    Role.ACCOUNTS: frozenset({Perm.ACCOUNTS_READ, Perm.ACCOUNTS}),
    Role.HEAD: frozenset(
        {
            Perm.DESK_VIEW,
            Perm.MOVEMENTS,
            Perm.PEOPLE,
            Perm.RECORDINGS,
            Perm.LEGAL_HOLD,
            Perm.AUDIT,
            Perm.ACCOUNTS_READ,
            Perm.REFUNDS,
            Perm.SANCTIONS,
            Perm.EXTENSIONS,
        }
    ),
    Role.ADMIN: frozenset({Perm.ADMIN}),
}

_G, _P = "GET", "POST"

# (method, the route's canonical path) -> what it needs. HEAD is checked as GET.
ROUTES: dict[tuple[str, str], Perm] = {
    # Public: the relative, the kiosk, the browsers' shared files.
    (_G, "/"): Perm.PUBLIC,
    (_G, "/join"): Perm.PUBLIC,
    (_G, "/confidentialite"): Perm.PUBLIC,  # the information notice
    (_G, "/sw.js"): Perm.PUBLIC,  # the relative's page as an installable web app
    (_G, "/manifest.webmanifest"): Perm.PUBLIC,
    (_G, "/kiosk"): Perm.PUBLIC,
    (_G, "/kiosk/enrolement"): Perm.PUBLIC,
    (_P, "/api/kiosk/enrol"): Perm.PUBLIC,
    (_P, "/api/kiosk/login"): Perm.PUBLIC,
    (_P, "/api/join"): Perm.PUBLIC,
    (_P, "/api/sms/status"): Perm.PUBLIC,  # signed by the SMS provider (sms_api)
    (_G, "/ws"): Perm.PUBLIC,
    (_G, "/config.js"): Perm.PUBLIC,
    (_G, "/healthz"): Perm.PUBLIC,  # says only "ok"
    (_G, "/readyz"): Perm.PUBLIC,  # ready or not, with the failed checks; no detail
    # Staff networks only (STAFF_PREFIXES), no session: Prometheus scrapes without one.
    (_G, "/metrics"): Perm.PUBLIC,
    (_G, "/favicon.ico"): Perm.PUBLIC,
    (_G, "/static"): Perm.PUBLIC,
    (_G, "/api/slots"): Perm.PUBLIC,
    (_G, "/connexion"): Perm.PUBLIC,
    (_P, "/api/staff/login"): Perm.PUBLIC,
    # Any staff member, about their own session.
    (_G, "/api/staff/me"): Perm.STAFF,
    (_P, "/api/staff/logout"): Perm.STAFF,
    (_P, "/api/staff/password"): Perm.STAFF,
    (_G, "/api/openapi.json"): Perm.STAFF,
    (_G, "/api/desk/establishment"): Perm.STAFF,
    # Booking desk.
    (_G, "/desk"): Perm.DESK_VIEW,
    (_G, "/desk/jour"): Perm.DESK_VIEW,
    (_G, "/desk/charte"): Perm.DESK_VIEW,
    (_G, "/desk/mouvements"): Perm.MOVEMENTS,
    (_G, "/desk/import"): Perm.PEOPLE,
    (_G, "/api/desk/calendar"): Perm.DESK_VIEW,
    (_G, "/api/desk/detainees"): Perm.DESK_VIEW,
    (_G, "/api/desk/detainees/{number}"): Perm.DESK_VIEW,
    (_G, "/api/desk/bookings/{bid}"): Perm.DESK_VIEW,
    (_G, "/api/desk/bookings/{bid}/receipt.pdf"): Perm.DESK_VIEW,
    (_G, "/api/desk/day"): Perm.MOVEMENTS,
    (_P, "/api/desk/bookings"): Perm.BOOK,
    (_P, "/api/desk/bookings/{bid}/cancel"): Perm.BOOK,
    (_P, "/api/desk/detainees/{number}/charter"): Perm.BOOK,
    (_P, "/api/desk/detainees"): Perm.PEOPLE,
    (_P, "/api/desk/detainees/{number}/correspondents"): Perm.PEOPLE,
    (_P, "/api/desk/correspondents/{cid}"): Perm.PEOPLE,
    (_P, "/api/desk/import/{kind}"): Perm.PEOPLE,
    # Accounts office.
    (_G, "/regie"): Perm.ACCOUNTS_READ,
    (_G, "/api/regie/tariffs"): Perm.ACCOUNTS_READ,
    (_G, "/api/regie/accounts/{number}/statement"): Perm.ACCOUNTS_READ,
    (_G, "/api/regie/accounts/{number}/statement.csv"): Perm.ACCOUNTS_READ,
    (_G, "/api/regie/report"): Perm.ACCOUNTS_READ,
    (_P, "/api/regie/credits"): Perm.ACCOUNTS,
    (_P, "/api/regie/import/credits"): Perm.ACCOUNTS,
    (_P, "/api/regie/accounts/{number}/tariff"): Perm.ACCOUNTS,
    (_P, "/api/regie/refunds"): Perm.REFUNDS,
    # Monitoring and recordings.
    (_G, "/monitor"): Perm.MONITOR,
    (_G, "/api/monitor/calls"): Perm.MONITOR,
    (_P, "/api/monitor/calls/{call}/watch"): Perm.MONITOR,
    (_P, "/api/monitor/calls/{call}/flag"): Perm.MONITOR,
    (_P, "/api/monitor/calls/{call}/cut"): Perm.MONITOR,
    (_G, "/enregistrements"): Perm.RECORDINGS,
    (_G, "/api/recordings"): Perm.RECORDINGS,
    (_G, "/api/recordings/{call}"): Perm.RECORDINGS,
    (_G, "/api/recordings/{call}/{side}.webm"): Perm.RECORDINGS,
    (_P, "/api/recordings/{call}/hold"): Perm.LEGAL_HOLD,
    (_G, "/audit"): Perm.AUDIT,
    (_G, "/api/audit"): Perm.AUDIT,
    (_G, "/api/audit.csv"): Perm.AUDIT,
    # The head of the prison.
    (_G, "/direction"): Perm.SANCTIONS,
    (_G, "/api/direction/sanctions"): Perm.SANCTIONS,
    (_P, "/api/direction/sanctions"): Perm.SANCTIONS,
    (_P, "/api/direction/sanctions/{phone}/lift"): Perm.SANCTIONS,
    (_G, "/api/direction/detainee-sanctions"): Perm.SANCTIONS,
    (_P, "/api/direction/detainees/{number}/sanctions"): Perm.SANCTIONS,
    (_P, "/api/direction/detainees/{number}/sanctions/lift"): Perm.SANCTIONS,
    (_P, "/api/direction/bookings/{bid}/extend"): Perm.EXTENSIONS,
    # The administrator.
    (_G, "/admin"): Perm.ADMIN,
    (_G, "/api/admin/staff"): Perm.ADMIN,
    (_P, "/api/admin/staff"): Perm.ADMIN,
    (_P, "/api/admin/staff/{login}"): Perm.ADMIN,
    (_G, "/api/admin/kiosks"): Perm.ADMIN,
    (_P, "/api/admin/kiosks/{kiosk}/enrol"): Perm.ADMIN,
    (_P, "/api/admin/kiosks/{kiosk}/revoke"): Perm.ADMIN,
}

# Where each role lands after signing in, in order of preference.
HOME_PAGES: tuple[tuple[Perm, str], ...] = (
    (Perm.BOOK, "/desk"),
    (Perm.MONITOR, "/monitor"),
    (Perm.SANCTIONS, "/direction"),
    (Perm.ACCOUNTS, "/regie"),
    (Perm.MOVEMENTS, "/desk/mouvements"),
    (Perm.ADMIN, "/admin"),
)


def permissions(roles: Iterable[str]) -> frozenset[Perm]:
    """What a member with these roles may do (unknown role names grant nothing)."""
    granted: set[Perm] = {Perm.PUBLIC, Perm.STAFF}
    for name in roles:
        try:
            granted |= GRANTS[Role(name)]
        except ValueError:
            continue
    return frozenset(granted)


def required(method: str, canonical: str) -> Perm | None:
    """The permission a route needs, or None for a route nobody classified (refused)."""
    method = "GET" if method == "HEAD" else method
    return ROUTES.get((method, canonical))


def allowed(roles: Iterable[str], perm: Perm) -> bool:
    return perm in permissions(roles)


def home_page(roles: Iterable[str]) -> str:
    granted = permissions(roles)
    return next((path for perm, path in HOME_PAGES if perm in granted), "/connexion")


def parse_roles(values: Iterable[object]) -> list[Role]:
    """Roles named in a request, in the matrix's order; ValueError for an unknown one."""
    wanted = set()
    for value in values:
        if not isinstance(value, str):
            raise ValueError(value)
        wanted.add(Role(value))
    return [role for role in Role if role in wanted]


PERM_LABELS: dict[Perm, str] = {
    Perm.DESK_VIEW: "Booking desk: calendar, day's planning, files and correspondents (view)",
    Perm.BOOK: "Book, cancel, record the charter's signature",
    Perm.MOVEMENTS: "Movement lists (who goes to the hearing room, when)",
    Perm.PEOPLE: "Detainee records, authorised correspondents, CSV import",
    Perm.MONITOR: "Live monitoring: watch, flag, cut a call",
    Perm.RECORDINGS: "Recordings: search, play, download",
    Perm.LEGAL_HOLD: "Legal hold of a recording",
    Perm.AUDIT: "Audit log",
    Perm.ACCOUNTS_READ: "Statements, daily report, tariffs",
    Perm.ACCOUNTS: "Credits, credit import, an account's plan",
    Perm.REFUNDS: "Refunds",
    Perm.SANCTIONS: "Sanctions on numbers and detainees",
    Perm.EXTENSIONS: "Longer call for one booking",
    Perm.ADMIN: "Staff accounts and kiosks",
}


def matrix_markdown() -> str:
    """The matrix as the README prints it (a test keeps the two the same)."""
    head = "| What | " + " | ".join(str(r) for r in Role) + " |"
    rule = "|---|" + "---|" * len(Role)
    rows = [
        f"| {label} | " + " | ".join("✔" if perm in GRANTS[r] else "" for r in Role) + " |"
        for perm, label in PERM_LABELS.items()
    ]
    return "\n".join([head, rule, *rows])
