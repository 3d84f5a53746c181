"""Sentences the gateway says to people, in French (default) and English.

Keys are the stable machine-readable reasons (``code.expired``) or message names (``sms.code``).
"""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "sms.code": {
        # One GSM-7 segment with an address of up to 63 characters (tests/test_sms_text.py).
        "fr": "Parloir : votre proche détenu vous appelle en visio. "
        "Code : {code} (valable {minutes} min), à saisir sur {url}",
        "en": "Parloir: your relative in prison is video-calling you. "
        "Code: {code} (valid {minutes} min), enter it at {url}",
    },
    "code.invalid": {
        "fr": "Ce code n'est pas valide. Vérifiez les 6 chiffres reçus par SMS.",
        "en": "This code is not valid. Check the 6 digits you received by SMS.",
    },
    "code.expired": {
        "fr": "Ce code a expiré (il est valable {minutes} minutes). Votre proche peut en envoyer "
        "un autre.",
        "en": "This code has expired (it is valid for {minutes} minutes). Your relative can send "
        "another.",
    },
    "code.used": {
        "fr": "Ce code a déjà été utilisé.",
        "en": "This code has already been used.",
    },
    "code.burned": {
        "fr": "Trop d'essais incorrects : ce code est bloqué. "
        "Votre proche peut en envoyer un autre.",
        "en": "Too many wrong tries: this code is blocked. Your relative can send a new one.",
    },
    "code.burned_kiosk": {
        "fr": "Trop de codes incorrects ont été saisis : le code est bloqué. "
        "Vous pouvez envoyer un nouveau code.",
        "en": "Too many wrong codes were entered: the code is blocked. You can send a new code.",
    },
    "join.rules_not_accepted": {
        "fr": "Vous devez accepter les règles d'utilisation.",
        "en": "You must accept the rules of use.",
    },
    "join.malformed": {
        "fr": "Demande incomplète.",
        "en": "Incomplete request.",
    },
    "rate_limited": {
        "fr": "Trop d'essais. Patientez une minute avant de réessayer.",
        "en": "Too many tries. Wait a minute before trying again.",
    },
    "kiosk.bad_credentials": {
        "fr": "Numéro d'écrou ou code d'accès incorrect.",
        "en": "Wrong prisoner number or access code.",
    },
    "kiosk.no_booking": {
        "fr": "Vous n'avez pas de créneau réservé en ce moment.",
        "en": "You have no booked slot at this time.",
    },
    "call.outside_slot": {
        "fr": "Votre créneau n'a pas commencé ou est terminé.",
        "en": "Your slot has not started or is over.",
    },
    "call.number_sanctioned": {
        "fr": "Ce numéro est sanctionné : il ne peut pas être appelé pour le moment.",
        "en": "This number is under a sanction: it cannot be called for now.",
    },
    "call.detainee_suspended": {
        "fr": "Votre accès à la visiophonie est suspendu : l'appel n'est pas possible.",
        "en": "Your access to video calls is suspended: the call is not possible.",
    },
    "kiosk.not_enrolled": {
        "fr": "Cette borne n'est pas enrôlée : appelez un surveillant.",
        "en": "This kiosk is not enrolled: call a guard.",
    },
    "kiosk.bad_enrolment_code": {
        "fr": "Code d'enrôlement invalide ou expiré.",
        "en": "Invalid or expired enrolment code.",
    },
    "call.time_used": {
        "fr": "Le temps d'appel de ce créneau est entièrement utilisé.",
        "en": "The call time of this slot is all used.",
    },
    "signaling.taken_over": {
        "fr": "Cet appel a été ouvert sur un autre appareil.",
        "en": "This call was opened on another device.",
    },
    "signaling.out_of_order": {
        "fr": "Action impossible à ce moment de l'appel.",
        "en": "This action is not possible at this point of the call.",
    },
    "signaling.malformed": {"fr": "Message illisible.", "en": "Unreadable message."},
    "signaling.unauthorized": {
        "fr": "Session inconnue ou expirée.",
        "en": "Unknown or expired session.",
    },
    "signaling.unknown_type": {"fr": "Message inconnu.", "en": "Unknown message."},
    "signaling.bad_sdp": {
        "fr": "Description média refusée (VP8 et Opus requis).",
        "en": "Media description refused (VP8 and Opus required).",
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
    # /readyz's failed checks.
    "ready.draining": {
        "fr": "Ce processus s'arrête : il ne prend plus de nouvel appel.",
        "en": "This process is stopping: it takes no new call.",
    },
    "call.draining": {
        "fr": "Le service redémarre : réessayez l'appel dans un instant.",
        "en": "The service is restarting: try the call again in a moment.",
    },
    "ready.redis": {"fr": "Redis ne répond pas.", "en": "Redis does not answer."},
    "ready.recordings": {
        "fr": "Le dossier des enregistrements n'est pas accessible en écriture.",
        "en": "The recordings folder is not writable.",
    },
    "ready.heartbeat": {
        "fr": "Le battement de ce processus n'est pas à jour.",
        "en": "This process's heartbeat is not current.",
    },
}


def message(key: str, lang: str = "fr", **values: object) -> str:
    """The sentence for ``key`` in ``lang``; ``{name}`` placeholders take ``values`` (a
    configurable figure, such as the code's validity, is never written into a sentence)."""
    entry = MESSAGES.get(key)
    if entry is None:
        return key
    text = entry.get(lang) or entry["fr"]
    for name, value in values.items():
        text = text.replace("{" + name + "}", str(value))
    return text


def pick_lang(value: object, default: str = "fr") -> str:
    return value if value in ("fr", "en") else default  # type: ignore[return-value]
