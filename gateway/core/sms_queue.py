"""The SMS queue's rules: when a message is tried again, when it is given up, what it shows.

Theory of operation. A message is *queued* (with an idempotency key, its id) before any sender
sees it. One process *claims* it for a lease; the sender's answer is an :class:`Outcome`:
``sent`` (the operator took it), ``transient`` (try again later: network, 5xx, throttling) or
``permanent`` (the number cannot be reached: never tried again). :func:`after_attempt` turns the
outcome, the attempt count and ``now`` into the next :class:`Decision`. A claim whose lease runs
out (the process died while sending) is claimed again with the *same* id, so a sender that passes
the id on (SMPP's own reference, the HTTPS provider's idempotency header, the outbox's ``id``)
does not deliver it twice.

The lease. A claim holds a message until ``now + lease``; while its send is under way the
claiming process renews the lease every :func:`renew_every` (a third of it), and only if it still
holds it (the same owner *and* the same attempt: a process that lost the lease to another never
takes it back). A renewal that finds the lease lost abandons the send (the new holder sends it).
So a slow send (an operator's throttle, a slow answer) is never claimed a second time while its
process is alive, and a process that dies still hands its messages over after one lease.
:func:`claim_limit` also keeps a claim to what the sender can hand over within half a lease.

Statuses, in the order a message moves through them: ``queued`` → ``sending`` → ``sent`` →
``delivered`` (the operator's receipt), or ``failed`` (given up). A message never goes back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Status = Literal["queued", "sending", "sent", "delivered", "failed"]
OutcomeKind = Literal["sent", "transient", "permanent"]

ORDER: dict[str, int] = {"queued": 0, "sending": 1, "sent": 2, "delivered": 3, "failed": 3}
"""A status change is applied only forward (a late 'sent' never hides a 'delivered')."""

FINAL = frozenset({"delivered", "failed"})

EARLY_RECEIPT_SECONDS = 60
"""How long an operator's receipt for an id not yet known is kept: an SMSC may send the receipt
before (or while) the sender stores the id its submit answer carried; the receipt is applied
when the id is stored. One that no id claims within this is dropped."""


@dataclass(frozen=True)
class RetryPolicy:
    first_delay: float = 2.0
    "Seconds before the second attempt."
    factor: float = 2.0
    "Each further wait is this many times the previous one."
    max_delay: float = 120.0
    "No wait is longer than this."
    max_attempts: int = 8
    "After this many transient failures the message is given up (reason ``sms.retries_exhausted``)."

    def delay(self, attempts: int) -> float:
        """The wait after the ``attempts``-th failed attempt (1-based)."""
        return min(self.max_delay, self.first_delay * self.factor ** max(0, attempts - 1))


@dataclass(frozen=True)
class Outcome:
    kind: OutcomeKind
    reason: str = ""
    "Machine-readable reason (``sms.unreachable``, ``sms.provider_unavailable``…)."
    provider_id: str = ""
    "The operator's id for the message, to match its receipts."


@dataclass(frozen=True)
class Decision:
    status: Status
    retry_at: float | None = None
    reason: str = ""


def after_attempt(outcome: Outcome, attempts: int, now: float, policy: RetryPolicy) -> Decision:
    """What becomes of a message after its ``attempts``-th attempt ended with ``outcome``."""
    if outcome.kind == "sent":
        return Decision("sent")
    if outcome.kind == "permanent":
        return Decision("failed", reason=outcome.reason or "sms.unreachable")
    if attempts >= policy.max_attempts:
        return Decision("failed", reason="sms.retries_exhausted")
    return Decision("queued", retry_at=now + policy.delay(attempts), reason=outcome.reason)


def renew_every(lease: float) -> float:
    """How often a process renews the leases of the sends it has under way."""
    return lease / 3


def claim_limit(lease: float, throttle: float, most: int = 10) -> int:
    """How many messages one claim may take: no more than ``throttle`` (messages per second,
    0 for no limit) lets out within half the lease, so that a batch never rests on renewals
    alone; at least one (a single slow send is kept by its renewals)."""
    if throttle <= 0:
        return most
    return max(1, min(most, int(throttle * lease / 2)))


def moves_forward(current: str, new: str) -> bool:
    """True when ``new`` may replace ``current`` (statuses only move forward)."""
    if current in FINAL:
        return False
    return ORDER.get(new, -1) >= ORDER.get(current, 0) and new != current


_FAILURES = {
    "sms.unreachable": "unreachable",
    "sms.refused": "refused",
    "sms.retries_exhausted": "retries",
    "sms.expired": "expired",
    "sms.undeliverable": "undelivered",
}
_ACCOUNT = frozenset({"sms.refused:401", "sms.refused:403"})
"The provider refuses *us* (a wrong or revoked token), not the number."
FAILURE_KINDS = ("unreachable", "refused", "account", "retries", "expired", "undelivered", "other")
NEW_CODE_HELPS = frozenset({"retries", "expired", "undelivered"})
"Failures a new code (a new SMS) may overcome; never a number or an account refused."


def failure_kind(reason: str) -> str:
    """A failed message's reason (``sms.refused:401``…) → what the kiosk tells of it."""
    if reason in _ACCOUNT:
        return "account"
    return _FAILURES.get(reason.split(":", 1)[0], "other")


def status_message(status: str, reason: str) -> str:
    """The i18n key of what the kiosk shows for this status (each failure its own)."""
    return f"sms.failed.{failure_kind(reason)}" if status == "failed" else f"sms.status.{status}"


def offers_new_code(status: str, reason: str) -> bool:
    return status == "failed" and failure_kind(reason) in NEW_CODE_HELPS


def mask_phone(e164: str) -> str:
    """``+33612345678`` → ``+33 6 •• •• •• 78``: enough to recognise, not to dial."""
    if len(e164) < 6:
        return "••"
    return f"{e164[:3]} {e164[3]} •• •• •• {e164[-2:]}"
