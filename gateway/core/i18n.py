"""Sentences the gateway says to people, in French (default) and English: the SMS texts and the
call's notices here; every refusal in the one table of reasons (:mod:`gateway.core.reasons`),
which :func:`message` also reads (``message("code.expired", "en", minutes=5)``).
"""

from __future__ import annotations

from gateway.core.reasons import REASONS, sentence

MESSAGES: dict[str, dict[str, str]] = {
    "sms.code": {
        # One GSM-7 segment with an address of up to 63 characters (tests/test_sms_text.py).
        "fr": "Parloir : votre proche détenu vous appelle en visio. "
        "Code : {code} (valable {minutes} min), à saisir sur {url}",
        "en": "Parloir: your relative in prison is video-calling you. "
        "Code: {code} (valid {minutes} min), enter it at {url}",
    },
    "quality.paused_here": {
        "fr": "Vidéo suspendue : connexion trop faible — le son continue",
        "en": "Video paused: connection too weak — the sound goes on",
    },
    "quality.paused_there": {
        "fr": "Votre proche reçoit mal la vidéo — le son continue",
        "en": "Your contact’s video reception is poor — the sound goes on",
    },
    "media.camera_off_there": {
        "fr": "Votre proche a coupé sa caméra",
        "en": "Your relative turned their camera off",
    },
    "media.audio_only_there": {
        "fr": "Votre proche a choisi l'appel audio seulement",
        "en": "Your relative chose a sound-only call",
    },
    "ended.time_limit": {
        "fr": "L'appel est terminé : la durée maximale est atteinte.",
        "en": "The call is over: the maximum duration was reached.",
    },
    "ended.kiosk_hangup": {
        "fr": "L'appel est terminé : la personne détenue a raccroché.",
        "en": "The call is over: the detainee hung up.",
    },
    "ended.relative_hangup": {
        "fr": "L'appel est terminé : le proche a raccroché.",
        "en": "The call is over: the relative hung up.",
    },
    "ended.no_answer": {
        "fr": "L'appel n'a pas eu lieu : le proche ne s'est pas connecté à temps.",
        "en": "The call did not take place: the relative did not connect in time.",
    },
    "ended.media_failure": {
        "fr": "L'appel est terminé : la connexion a été perdue.",
        "en": "The call is over: the connection was lost.",
    },
    "ended.cut": {
        "fr": "L'appel a été interrompu.",
        "en": "The call was interrupted.",
    },
    "ended.interrupted": {
        "fr": "L'appel a été interrompu par le service.",
        "en": "The call was interrupted by the service.",
    },
    # What the kiosk shows of the code's SMS, by status.
    # Booking notices (gateway/core/booking_sms.py): GSM-7 only, one segment each.
    "sms.booking.booked": {
        "fr": "Parloir : visio réservée le {date} à {time}. "
        "Vous recevrez un code à 6 chiffres au moment de l'appel.",
        "en": "Parloir: video call booked on {date} at {time}. "
        "You will receive a 6-digit code when the call starts.",
    },
    "sms.booking.reminder": {
        "fr": "Parloir : rappel, visio le {date} à {time}, dans {minutes} min. "
        "Vous recevrez un code à 6 chiffres au moment de l'appel.",
        "en": "Parloir: reminder, video call on {date} at {time}, in {minutes} min. "
        "You will receive a 6-digit code when the call starts.",
    },
    "sms.booking.cancelled": {
        "fr": "Parloir : la visio du {date} à {time} est annulée.",
        "en": "Parloir: the video call of {date} at {time} is cancelled.",
    },
    "sms.status.queued": {"fr": "SMS en attente d'envoi", "en": "SMS waiting to be sent"},
    "sms.status.sending": {"fr": "SMS en cours d'envoi", "en": "SMS being sent"},
    "sms.status.sent": {"fr": "SMS envoyé", "en": "SMS sent"},
    "sms.status.delivered": {"fr": "SMS remis au téléphone", "en": "SMS delivered to the phone"},
    # A failed SMS, by its reason (gateway/core/sms_queue.py failure_kind).
    "sms.failed.unreachable": {
        "fr": "échec : numéro injoignable",
        "en": "failed: the number cannot be reached",
    },
    "sms.failed.refused": {
        "fr": "échec : SMS refusé par l'opérateur",
        "en": "failed: the operator refused the SMS",
    },
    "sms.failed.account": {
        "fr": "échec : le service SMS refuse l'envoi, prévenez le personnel",
        "en": "failed: the SMS service refuses to send, please tell the staff",
    },
    "sms.failed.retries": {
        "fr": "échec : SMS non envoyé après plusieurs essais",
        "en": "failed: the SMS could not be sent after several tries",
    },
    "sms.failed.expired": {
        "fr": "échec : téléphone resté injoignable, SMS expiré",
        "en": "failed: the phone stayed out of reach, the SMS expired",
    },
    "sms.failed.undelivered": {
        "fr": "échec : SMS non remis au téléphone",
        "en": "failed: the SMS did not reach the phone",
    },
    "sms.failed.other": {
        "fr": "échec de l'envoi du SMS",
        "en": "failed: the SMS was not sent",
    },
}


def message(key: str, lang: str = "fr", **values: object) -> str:
    """The sentence for ``key`` in ``lang``; ``{name}`` placeholders take ``values`` (a
    configurable figure, such as the code's validity, is never written into a sentence)."""
    entry = MESSAGES.get(key)
    if entry is None:
        return sentence(key, lang, **values) if key in REASONS else key
    text = entry.get(lang) or entry["fr"]
    for name, value in values.items():
        text = text.replace("{" + name + "}", str(value))
    return text


def pick_lang(value: object, default: str = "fr") -> str:
    return value if value in ("fr", "en") else default  # type: ignore[return-value]
