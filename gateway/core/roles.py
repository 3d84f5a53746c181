"""Staff roles and what each may do: the authorization matrix, without any I/O.

Every route of the application is listed in :data:`gateway.core.routes.ROUTE_TABLE` with the
permission it needs (:data:`ROUTES` is that matrix); the
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

def __getattr__(name: str) -> object:
    # ROUTES is built from the route table, which itself needs Perm: built on first use.
    if name == "ROUTES":
        from gateway.core.routes import matrix

        globals()["ROUTES"] = routes = matrix()
        return routes
    raise AttributeError(name)


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
    return __getattr__("ROUTES").get((method, canonical))  # type: ignore[attr-defined]


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
