"""SMPP 3.4's answers turned into the queue's outcomes, and delivery receipts read (sans-IO).

``submit_sm_resp``'s command_status says whether the SMSC took the message. A refusal that no
retry changes (the destination is not a valid number, the SMSC rejects it for good) is
*permanent*: the queue gives up at once. Everything else (throttling, a full queue, a system
error, a bind lost) is *transient*: retried with the queue's backoff. A delivery receipt is a
``deliver_sm`` whose esm_class has bit 2 set; its short_message reads
``id:… sub:… dlvrd:… submit date:… done date:… stat:DELIVRD err:…`` (SMPP 3.4, appendix B).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.core.sms_queue import Outcome

ESME_ROK = 0x00
ESME_RINVDSTADR = 0x0B
ESME_RINVDESTFLAG = 0x40
ESME_RINVNUMDESTS = 0x33
ESME_RX_P_APPN = 0x65
ESME_RX_R_APPN = 0x66
ESME_RTHROTTLED = 0x58
ESME_RMSGQFUL = 0x14
ESME_RSYSERR = 0x08

PERMANENT: dict[int, str] = {
    ESME_RINVDSTADR: "sms.unreachable",
    ESME_RINVNUMDESTS: "sms.unreachable",
    ESME_RINVDESTFLAG: "sms.unreachable",
    ESME_RX_P_APPN: "sms.refused",
    ESME_RX_R_APPN: "sms.refused",
}
TRANSIENT_NAMES: dict[int, str] = {
    ESME_RTHROTTLED: "sms.throttled",
    ESME_RMSGQFUL: "sms.provider_busy",
    ESME_RSYSERR: "sms.provider_unavailable",
}
RECEIPT_BIT = 0x04
"esm_class bit 2 (value 4): an SMSC delivery receipt."


def outcome_of_status(status: int, message_id: str = "") -> Outcome:
    if status == ESME_ROK:
        return Outcome("sent", provider_id=message_id)
    if status in PERMANENT:
        return Outcome("permanent", reason=PERMANENT[status])
    return Outcome("transient", reason=TRANSIENT_NAMES.get(status, f"sms.smpp_error:{status:#x}"))


def is_receipt(esm_class: int) -> bool:
    return bool(esm_class & RECEIPT_BIT)


@dataclass(frozen=True)
class Receipt:
    message_id: str
    status: str
    "The queue's status: ``delivered``, ``failed`` or empty (an intermediate state: ignored)."
    reason: str = ""


_FIELD = re.compile(r"(id|stat|err):(\S+)", re.IGNORECASE)
FINAL_STATES = {
    "DELIVRD": ("delivered", ""),
    "EXPIRED": ("failed", "sms.expired"),
    "UNDELIV": ("failed", "sms.undeliverable"),
    "REJECTD": ("failed", "sms.refused"),
    "DELETED": ("failed", "sms.undeliverable"),
}
# message_state TLV values (SMPP 3.4 5.2.28) for the same states.
MESSAGE_STATE = {2: "DELIVRD", 3: "EXPIRED", 4: "DELETED", 5: "UNDELIV", 8: "REJECTD"}


def parse_receipt(text: str, receipted_id: str = "", message_state: int | None = None) -> Receipt:
    """A receipt's message id and final state; the TLVs win over the text when present."""
    fields = {k.lower(): v for k, v in _FIELD.findall(text)}
    message_id = receipted_id or fields.get("id", "")
    stat = MESSAGE_STATE.get(message_state or 0) or fields.get("stat", "").upper()
    status, reason = FINAL_STATES.get(stat, ("", ""))
    return Receipt(message_id, status, reason)
