"""Every refusal the gateway answers, declared once: its stable machine-readable code, its HTTP
status, its sentence in French and English, and what it means (the OpenAPI document's text).

A sentence names the figures that vary (a configured validity, a deadline, an amount) as
``{placeholders}``: the caller passes them, so a configurable value is never written into a
sentence, here nor in a page (pages show the server's ``message``). A reason whose circumstances
call for a more precise sentence declares it as a named variant, in the same entry.

``field.<name>`` reasons are a family: any field the text rule refuses (:mod:`gateway.core.text`)
takes :data:`FIELD`'s sentences; a field with a constraint of its own (a pattern, a range)
declares its sentence below. ``tests/test_reasons.py`` checks that every reason the route table
declares and every reason the code raises is here, in both languages, with the route's status.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = [
    "FIELD",
    "REASONS",
    "Reason",
    "lookup",
    "sentence",
    "sentences",
    "status",
    "text_rule",
]


@dataclass(frozen=True)
class Reason:
    status: int | None  # None: not an HTTP answer (a WebSocket message, a kiosk's notice)
    fr: str
    en: str
    doc: str
    variants: Mapping[str, tuple[str, str]] = field(default_factory=dict)


def _r(status: int | None, fr: str, en: str, doc: str, **variants: tuple[str, str]) -> Reason:
    return Reason(status, fr, en, doc, variants)


_SLOT_DEADLINE_DOC = (
    "the booking deadline has passed (by default 48 hours before; for Monday and Tuesday "
    "slots, the Saturday before at 23:59:59); the message gives the deadline"
)

# fmt: off
REASONS: dict[str, Reason] = {
    # -- requests ---------------------------------------------------------------------------
    "request.malformed": _r(
        400, "Requête illisible.", "Malformed request.",
        "the body is not a JSON object (or a field the handler needs is not even a string)"),
    "request.bad_date": _r(
        400, "Date invalide (AAAA-MM-JJ attendu).", "Bad date (YYYY-MM-DD).",
        "a date is not `YYYY-MM-DD`"),
    "request.bad_days": _r(
        400, "Nombre de jours invalide (1 à {max_days}).", "Bad number of days (1 to {max_days}).",
        "`days` is not a whole number from 1 to {max_days}"),
    "http.404": _r(404, "Introuvable.", "Not found.", "no such resource"),
    "http.405": _r(405, "Méthode non permise.", "Method not allowed.",
                   "the path exists but not with this method"),
    "http.413": _r(413, "Requête trop volumineuse.", "Request too large.",
                   "the body is larger than the limit of this endpoint"),
    "server.error": _r(
        500, "Erreur interne : l'opération n'a pas abouti.",
        "Internal error: the operation did not complete.",
        "an unexpected error (logged); nothing is known to have changed"),
    "route.unclassified": _r(
        403, "Accès refusé.", "Access denied.",
        "the route has no permission in the route table: refused to everyone (a bug)"),
    "phone.invalid": _r(
        400, "Numéro de téléphone invalide : {raw}", "Invalid phone number: {raw}",
        "the phone number cannot be read or is not a valid number",
        unreadable=("Numéro de téléphone illisible : {raw}", "Unreadable phone number: {raw}")),
    # -- the SMS provider's webhook (gateway.http.sms_api) ------------------------------------
    "sms.webhook.disabled": _r(
        404, "Webhook SMS désactivé.", "SMS webhook disabled.",
        "no `sms_webhook_secret` is configured: the webhook is off"),
    "sms.webhook.signature_missing": _r(
        401, "Signature absente.", "Signature missing.", "no `X-Parloir-Signature` header"),
    "sms.webhook.signature_malformed": _r(
        401, "Signature illisible.", "Malformed signature.",
        "the signature header is not `t=…,v1=…`"),
    "sms.webhook.signature_invalid": _r(
        401, "Signature invalide.", "Invalid signature.",
        "the HMAC-SHA256 does not match the body and timestamp"),
    "sms.webhook.stale": _r(
        401, "Signature périmée.", "Stale signature.",
        "the signed timestamp is outside `sms_webhook_window_seconds`"),
    "sms.webhook.bad_status": _r(
        400, "Statut de SMS invalide.", "Invalid SMS status.",
        "`status` is not `delivered` or `failed`, or `id` is empty"),
    # -- staff sessions, roles and accounts (gateway.http.staff_auth, staff_api) -------------
    "staff.forbidden_network": _r(
        403, "Réservé au réseau interne de l'établissement.",
        "Reserved to the establishment's internal network.",
        "the client is not on one of the `staff_networks`"),
    "staff.login_required": _r(
        401, "Session expirée ou absente : reconnectez-vous.",
        "Session expired or missing: sign in again.",
        "no staff session: the session cookie is missing, unknown or over (idle or absolute "
        "limit, signed out, password changed, account disabled or its roles changed)"),
    "staff.forbidden": _r(
        403, "Votre fonction ne donne pas accès à cette action.",
        "Your role does not allow this action.",
        "the signed-in member's roles do not grant this operation (see the role matrix)"),
    "staff.password_change_required": _r(
        403, "Choisissez d'abord votre propre mot de passe.", "First choose your own password.",
        "the member's password is one an administrator chose: only `GET /api/staff/me`, "
        "`POST /api/staff/password` and `POST /api/staff/logout` answer until they choose "
        "their own"),
    "staff.csrf": _r(
        403, "Requête refusée (jeton de sécurité absent ou périmé) : rechargez la page.",
        "Request refused (security token missing or stale): reload the page.",
        "a state-changing request without the session's `X-CSRF-Token` header (or with a "
        "stale one), or with the `Origin` of another site"),
    "staff.bad_credentials": _r(
        401, "Identifiant ou mot de passe incorrect.", "Wrong login or password.",
        "wrong login or password, or the account is disabled (the same answer whether the "
        "login exists or not)"),
    "staff.locked": _r(
        429, "Trop d'essais : ce compte est bloqué 15 minutes.",
        "Too many tries: this account is locked for 15 minutes.",
        "too many wrong passwords for this login (`staff_login_failures` in 15 minutes): "
        "the account is locked for 15 minutes, whoever tries"),
    "staff.exists": _r(409, "Cet identifiant existe déjà.", "This login already exists.",
                       "an account with this login already exists"),
    "staff.not_found": _r(404, "Compte inconnu.", "Unknown account.",
                          "no account with this login"),
    "staff.bad_login": _r(
        400, "Identifiant invalide : 2 à 32 lettres, chiffres, points, tirets.",
        "Invalid login: 2 to 32 letters, digits, dots, dashes.",
        "the login is not 2 to 32 letters, digits, dots, dashes or underscores"),
    "staff.weak_password": _r(
        400, "Mot de passe trop court : au moins 12 caractères.",
        "Password too short: at least 12 characters.",
        "the password is not a string of 12 to 256 characters"),
    "staff.no_role": _r(400, "Choisissez au moins une fonction.", "Choose at least one role.",
                        "no role given: an account has at least one"),
    "staff.same_password": _r(
        400, "Choisissez un mot de passe différent de l'actuel.",
        "Choose a password different from the current one.",
        "the new password is the current one"),
    "staff.bad_role": _r(400, "Fonction inconnue.", "Unknown role.",
                         "`roles` is not a list of known roles"),
    "staff.last_admin": _r(
        409, "Impossible : ce serait le dernier administrateur actif.",
        "Impossible: this is the last active administrator.",
        "the change would leave no active administrator (removing the role or disabling "
        "the last one)"),
    "rate_limited": _r(
        429, "Trop d'essais. Patientez une minute avant de réessayer.",
        "Too many tries. Wait a minute before trying again.",
        "too many attempts: wait and try again (the limits are those of the operation)",
        staff=("Trop d'essais : patientez une minute.", "Too many tries: wait a minute.")),
    # -- the kiosk and the relative (gateway.http.public_api, signaling) ---------------------
    "join.malformed": _r(400, "Demande incomplète.", "Incomplete request.",
                         "a required field is missing or is not a string"),
    "join.rules_not_accepted": _r(
        400, "Vous devez accepter les règles d'utilisation.", "You must accept the rules of use.",
        "`rules_accepted` is not `true`"),
    "kiosk.bad_credentials": _r(
        401, "Numéro d'écrou ou code d'accès incorrect.", "Wrong prisoner number or access code.",
        "wrong prisoner number or access code, or the detainee's access is not active"),
    "kiosk.not_enrolled": _r(
        401, "Cette borne n'est pas enrôlée : appelez un surveillant.",
        "This kiosk is not enrolled: call a guard.",
        "the request carries no device credential (`X-Parloir-Kiosk` header or `parloir_kiosk` "
        "cookie) of an enrolled kiosk: never enrolled, revoked, or enrolled again since"),
    "kiosk.bad_enrolment_code": _r(
        403, "Code d'enrôlement invalide ou expiré.", "Invalid or expired enrolment code.",
        "the enrolment code is wrong, expired (30 minutes) or already used"),
    "kiosk.unknown": _r(404, "Borne inconnue.", "Unknown kiosk.",
                        "no kiosk with this id in the establishment's configuration"),
    "kiosk.no_booking": _r(
        None, "Vous n'avez pas de créneau réservé en ce moment.",
        "You have no booked slot at this time.",
        "the detainee has no booking due at this kiosk now (the kiosk's sign-in message, or "
        "the refusal of a call)"),
    "code.invalid": _r(
        403, "Ce code n'est pas valide. Vérifiez les 6 chiffres reçus par SMS.",
        "This code is not valid. Check the 6 digits you received by SMS.",
        "the code is wrong (also given for every failure when `ref` is absent, so that a "
        "stranger never learns whether a code exists)"),
    "code.expired": _r(
        403, "Ce code a expiré (il est valable {minutes} minutes). Votre proche peut en envoyer "
        "un autre.",
        "This code has expired (it is valid for {minutes} minutes). Your relative can send "
        "another.",
        "the code has expired (its validity is `code_validity_seconds`)"),
    "code.used": _r(403, "Ce code a déjà été utilisé.", "This code has already been used.",
                    "the code has already been used"),
    "code.burned": _r(
        403, "Trop d'essais incorrects : ce code est bloqué. Votre proche peut en envoyer un "
        "autre.",
        "Too many wrong tries: this code is blocked. Your relative can send a new one.",
        "too many wrong tries: the code is blocked"),
    "code.burned_kiosk": _r(
        None, "Trop de codes incorrects ont été saisis : le code est bloqué. Vous pouvez "
        "envoyer un nouveau code.",
        "Too many wrong codes were entered: the code is blocked. You can send a new code.",
        "told to the kiosk when the relative's side burned the code"),
    # Why a call may not start (gateway.core.call_rules), told on the kiosk's WebSocket.
    "call.outside_slot": _r(
        None, "Votre créneau n'a pas commencé ou est terminé.",
        "Your slot has not started or is over.", "the booked slot is not open now"),
    "call.number_sanctioned": _r(
        None, "Ce numéro est sanctionné : il ne peut pas être appelé pour le moment.",
        "This number is under a sanction: it cannot be called for now.",
        "the correspondent's number is under a sanction"),
    "call.detainee_suspended": _r(
        None, "Votre accès à la visiophonie est suspendu : l'appel n'est pas possible.",
        "Your access to video calls is suspended: the call is not possible.",
        "the detainee's access is suspended or withdrawn"),
    "call.time_used": _r(
        None, "Le temps d'appel de ce créneau est entièrement utilisé.",
        "The call time of this slot is all used.", "the slot's call time is used up"),
    "call.draining": _r(
        None, "Le service redémarre : réessayez l'appel dans un instant.",
        "The service is restarting: try the call again in a moment.",
        "this process is stopping and takes no new call"),
    # The WebSocket's own refusals (signaling).
    "signaling.taken_over": _r(
        None, "Cet appel a été ouvert sur un autre appareil.",
        "This call was opened on another device.",
        "another page opened the same leg"),
    "signaling.out_of_order": _r(
        None, "Action impossible à ce moment de l'appel.",
        "This action is not possible at this point of the call.",
        "the message is not allowed in the call's state"),
    "signaling.malformed": _r(None, "Message illisible.", "Unreadable message.",
                              "not a JSON object with a known shape"),
    "signaling.unauthorized": _r(None, "Session inconnue ou expirée.",
                                 "Unknown or expired session.",
                                 "the WebSocket's token is unknown or expired"),
    "signaling.unknown_type": _r(None, "Message inconnu.", "Unknown message.",
                                 "the message's `type` is not one the gateway knows"),
    "signaling.bad_sdp": _r(
        422, "Description média refusée (VP8 et Opus requis).",
        "Media description refused (VP8 and Opus required).",
        "the offer is not a viewer's offer: two audio and two video sections, all `recvonly`, "
        "with Opus and VP8 (the message says what is wrong)",
        detail=("Offre SDP refusée : {detail}", "SDP offer refused: {detail}")),
    # -- booking rules (gateway.core.booking_rules.RefusalCode), in the order checked ---------
    "booking.detainee_released": _r(
        409, "Cette personne n'est plus détenue dans l'établissement : aucune réservation n'est "
        "possible.",
        "This person is no longer held in the establishment: no booking is possible.",
        "the detainee is no longer held in the establishment"),
    "booking.detainee_suspended": _r(
        409, "Votre accès à la visiophonie est suspendu : vous ne pouvez pas réserver de "
        "créneau.",
        "Your access to video calls is suspended: you cannot book a slot.",
        "the detainee's access to video calls is suspended"),
    "booking.charter_not_signed": _r(
        409, "Vous devez d'abord signer la charte d'utilisation de la visiophonie.",
        "You must first sign the video-call charter.",
        "the detainee has not signed the charter"),
    "booking.correspondent_not_authorised": _r(
        409, "Vous n'êtes pas autorisé à appeler ce correspondant : son autorisation est "
        "suspendue ou retirée.",
        "You are not allowed to call this person: the authorisation is suspended or withdrawn.",
        "the correspondent's authorisation is suspended or withdrawn"),
    "booking.minor_without_consent": _r(
        409, "Ce correspondant est mineur : l'accord des titulaires de l'autorité parentale "
        "doit être enregistré avant la réservation.",
        "This person is a minor: the consent of the holders of parental authority must be "
        "recorded before booking.",
        "the correspondent is a minor and the parental consent is not recorded"),
    "booking.sunday": _r(409, "La visiophonie n'est pas ouverte le dimanche.",
                         "Video calls are not available on Sundays.", "the slot is on a Sunday"),
    "booking.holiday": _r(
        409, "Le {date} est un jour férié : la visiophonie n'est pas ouverte.",
        "{date} is a public holiday: video calls are not available.",
        "the slot is on a public holiday of the establishment's region"),
    "booking.not_in_grid": _r(
        409, "Cet horaire ne correspond à aucun créneau de visiophonie.",
        "This time is not a video-call slot.", "`start` is not the start of a slot of the grid"),
    "booking.in_past": _r(409, "Ce créneau a déjà commencé ou est passé.",
                          "This slot has already started or is over.",
                          "the slot has started or is over"),
    "booking.too_late": _r(
        409, "Il est trop tard pour réserver ce créneau : il fallait le réserver au plus tard "
        "le {deadline}.",
        "Too late to book this slot: the deadline was {deadline}.", _SLOT_DEADLINE_DOC),
    "booking.quota": _r(
        409, "Vous avez droit à {allowed} par période de {window} jours et vous avez déjà un "
        "créneau le {date}.",
        "You are allowed {allowed} per {window} days and already have a slot on {date}.",
        "the detainee already has a booking in the quota window (by default 1 per 28 days)"),
    "booking.kiosk_busy": _r(
        409, "Le poste de visiophonie est déjà réservé sur ce créneau : choisissez-en un autre.",
        "The video-call kiosk is already booked for this slot: choose another one.",
        "the kiosk is already booked for this slot"),
    "booking.number_sanctioned": _r(
        409, "Ce numéro est sanctionné : il ne peut pas être appelé pour le moment.",
        "This number is under a sanction: it cannot be called for now.",
        "the correspondent's phone number is under a sanction of the direction (for every "
        "detainee) until it ends or is lifted"),
    "booking.detainee_sanctioned": _r(
        409, "L'accès de cette personne à la visiophonie est suspendu jusqu'au {last} inclus.",
        "This person's video-call access is suspended until {last} included.",
        "the detainee's access is suspended (over the slot) or withdrawn by the direction "
        "(`/api/direction/detainees/{number}/sanctions`); the message gives the last day",
        withdrawn=("L'accès de cette personne à la visiophonie est retiré.",
                   "This person's video-call access is withdrawn.")),
    # -- the booking desk (gateway.store.bookings) -------------------------------------------
    "booking.unknown_detainee": _r(404, "Détenu introuvable.", "Unknown detainee.",
                                   "no detainee with this number"),
    "booking.unknown_correspondent": _r(
        404, "Ce correspondant n'est pas enregistré pour ce détenu.",
        "This correspondent is not registered for this detainee.",
        "no such correspondent, or not a correspondent of this detainee"),
    "booking.unknown_kiosk": _r(404, "Borne inconnue.", "Unknown kiosk.", "no kiosk with this id"),
    "booking.bad_guard": _r(
        400, "Indiquez le nom ou le matricule de l'agent qui réserve.",
        "Give the name or number of the guard who books.",
        "the signed-in member's signature (`Name (login)`) is empty or longer than 128 "
        "characters (cannot happen with a valid account)"),
    "booking.insufficient_credit": _r(
        409, "Crédit téléphonique insuffisant pour réserver ce créneau.",
        "Not enough phone credit to book this slot.",
        "the phone account's available credit is below the price of the longest call allowed; "
        "`details` gives `needed` and `available` (cents)",
        amounts=("Crédit téléphonique insuffisant pour réserver ce créneau : il faut {needed} "
                 "disponibles, le compte en a {available}.",
                 "Not enough phone credit to book this slot: {needed} needed, {available} "
                 "available.")),
    "booking.contended": _r(
        503, "Le créneau est très demandé en ce moment : réessayez.",
        "The slot is in high demand right now: try again.",
        "the slot or the booking kept changing under concurrent requests: retry"),
    "booking.unreplicated": _r(
        503, "Enregistré, mais non confirmé par la base de secours (bascule en cours) : "
        "vérifiez le planning dans un instant avant de recommencer.",
        "Saved, but not confirmed by the standby database (a failover is under way): check "
        "the planning in a moment before trying again.",
        "done, but its ledger operation is not yet confirmed by a Redis replica (a failover is "
        "under way, README « Redis failover »): check the planning before trying again"),
    "booking.not_found": _r(404, "Réservation introuvable.", "Booking not found.",
                            "no booking with this id"),
    "booking.not_cancellable": _r(
        409, "Cette réservation ne peut plus être annulée (créneau commencé ou réservation "
        "close).",
        "This booking can no longer be cancelled (slot started or booking closed).",
        "the slot has started or the booking is closed"),
    "booking.not_extendable": _r(
        409, "Cette réservation ne peut plus être prolongée (créneau terminé ou réservation "
        "close).",
        "This booking can no longer be extended (slot over or booking closed).",
        "the slot is over or the booking is closed"),
    "booking.bad_extension": _r(
        400, "Durée invalide : plus longue que l'actuelle, et pas plus que le créneau.",
        "Invalid duration: longer than the current one, and no longer than the slot.",
        "not longer than the booking's current limit, or longer than its slot"),
    # -- the ledger (gateway.store.ledger) ---------------------------------------------------
    "ledger.bad_amount": _r(
        400, "Montant invalide : un nombre entier de centimes est attendu.",
        "Invalid amount: a whole number of cents is expected.",
        "the amount is not a whole number of cents from 1 to 1,000,000,000"),
    "ledger.bad_argument": _r(
        400, "Paramètre invalide.", "Invalid parameter.",
        "an argument is not acceptable to the ledger",
        detail=("Paramètre invalide : {what}.", "Invalid parameter: {what}.")),
    "ledger.idempotency_conflict": _r(
        409, "Cette opération a déjà été enregistrée avec d'autres paramètres.",
        "This operation was already recorded with other parameters.",
        "this `reference` was already used on this account for another operation or amount"),
    "ledger.unknown_hold": _r(404, "Réservation de crédit introuvable.", "Credit hold not found.",
                              "no such hold of credit on this account"),
    "ledger.hold_released": _r(
        409, "Cette réservation de crédit a déjà été libérée (créneau annulé).",
        "This credit hold was already released (slot cancelled).",
        "the hold was released (its booking cancelled)"),
    "ledger.wrong_account": _r(
        409, "Cette opération ne concerne pas ce compte téléphonie.",
        "This operation is not about this phone account.",
        "the hold or call belongs to another account"),
    "ledger.unknown_call": _r(
        404, "Appel introuvable sur ce compte téléphonie.",
        "Call not found on this phone account.",
        "the booking's call was never charged (nothing to refund)"),
    "ledger.refund_exceeds_charge": _r(
        409, "Le remboursement dépasse le montant prélevé pour cet appel.",
        "The refund exceeds the amount charged for this call.",
        "the refunds of this call would exceed what it cost; `details.refundable` is what can "
        "still be refunded (cents)"),
    "ledger.unknown_tariff": _r(
        400, "Tarif inconnu.", "Unknown tariff.", "no tariff with this name",
        named=("Tarif inconnu : {tariff}.", "Unknown tariff: {tariff}.")),
    "ledger.unreplicated": _r(
        503, "Opération non confirmée par la base de secours : réessayez, elle ne sera pas "
        "comptée deux fois.",
        "Operation not confirmed by the standby database: try again, it will not be counted "
        "twice.",
        "not confirmed by a Redis replica in time (a failover, README « Redis failover »): it "
        "may be done; retry with the same `reference`, it is never counted twice"),
    # -- monitoring, recordings, sanctions ---------------------------------------------------
    "monitor.no_call": _r(
        404, "Appel introuvable ou terminé.", "Call not found or over.",
        "no call in progress with this id in the service (the process serving the request "
        "forwards to the call's owner); for a flag, no recording of the call either",
        flag=("Appel introuvable.", "Call not found.")),
    "monitor.lawyer": _r(
        409, "Les appels avec un avocat ne sont ni enregistrés ni écoutés.",
        "Calls with a lawyer are neither recorded nor monitored.",
        "the call is with a lawyer: neither recorded nor monitored",
        cut=("Les appels avec un avocat ne sont pas surveillés.",
             "Calls with a lawyer are not monitored.")),
    "monitor.call_ended": _r(409, "L'appel est terminé.", "The call is over.",
                             "the call has just ended"),
    "monitor.not_recorded": _r(409, "Cet appel n'est pas enregistré.", "This call is not recorded.",
                               "the call is live but not recorded (nothing to flag)"),
    "cluster.unreachable": _r(
        503, "Le serveur qui porte cet appel ne répond pas.",
        "The server carrying this call does not answer.",
        "the process that owns the call does not answer"),
    "cluster.unknown_method": _r(
        409, "Action impossible.", "Action not possible.",
        "the process that owns the call does not know this operation (a rolling upgrade)"),
    "recording.not_found": _r(404, "Enregistrement introuvable.", "Recording not found.",
                              "no recording of this call"),
    "sanction.not_found": _r(404, "Aucune sanction.", "No sanction.",
                             "the detainee has never been sanctioned"),
    # -- readiness (/readyz: 503 with the failed checks) -------------------------------------
    "ready.draining": _r(
        503, "Ce processus s'arrête : il ne prend plus de nouvel appel.",
        "This process is stopping: it takes no new call.", "the process is draining"),
    "ready.redis": _r(503, "Redis ne répond pas.", "Redis does not answer.",
                      "Redis does not answer"),
    "ready.recordings": _r(
        503, "Le dossier des enregistrements n'est pas accessible en écriture.",
        "The recordings folder is not writable.", "the recordings folder is not writable"),
    "ready.heartbeat": _r(
        503, "Le battement de ce processus n'est pas à jour.",
        "This process's heartbeat is not current.", "the process's heartbeat is late"),
    # -- fields with a constraint of their own (the others: FIELD) ---------------------------
    "field.number": _r(400, "Numéro d'écrou invalide.", "Invalid prisoner number.",
                       "the detainee number is not 1 to 20 ASCII letters and digits"),
    "field.access_code": _r(
        400, "Le code d'accès a 4 à 8 chiffres.", "The access code has 4 to 8 digits.",
        "the access code is not 4 to 8 ASCII digits"),
    "field.status": _r(400, "Statut invalide.", "Invalid status.",
                       "`status` is not one of the listed values"),
    "field.start": _r(
        400, "Début du créneau invalide (date ISO 8601 avec fuseau attendue).",
        "Invalid slot start (ISO 8601 with offset expected).",
        "`start` is not an ISO 8601 date and time with an offset"),
    "field.amount_cents": _r(
        400, "Montant invalide : un nombre entier de centimes, positif, est attendu.",
        "Invalid amount: a positive whole number of cents is expected.",
        "`amount_cents` is not a whole number from 1 to 1,000,000,000"),
    "field.minutes": _r(400, "Durée invalide (minutes).", "Invalid minutes.",
                        "`minutes` is not a whole number from 1 to 600"),
    "field.scope": _r(400, "Portée invalide (video ou phone).", "Invalid scope.",
                      "`scope` is not `video` or `phone`"),
    "field.sdp": _r(400, "Offre SDP invalide.", "Invalid SDP offer.",
                    "`sdp` is missing or not a string"),
    "field.password": _r(400, "Mot de passe obligatoire.", "Password required.",
                         "`password` is missing, empty or longer than 256 characters"),
    "field.until": _r(
        400, "Champ « {name} » invalide.", "Invalid field {name}.",
        "`until` is not a date, or is past, or before the start",
        past=("La date de fin est passée.", "The end date is past."),
        before_start=("La date de fin est passée ou avant le début.",
                      "The end date is past or before the start.")),
}
# fmt: on

FIELD = _r(
    400, "Champ « {name} » invalide.", "Invalid field {name}.",
    "`{name}` is missing, empty, of the wrong type, too long, not an allowed value, or holds a "
    "control or format character (line break, bidi override, zero-width space, NUL, BOM: the "
    "text rule of `gateway/core/text.py`)",
    required=("Champ « {name} » obligatoire.", "{name} is required."),
    too_long=("Champ « {name} » trop long : {limit} caractères au plus.",
              "Field {name} too long: at most {limit} characters."),
    characters=("Champ « {name} » : caractère invisible ou de contrôle (retour à la ligne, "
                "inversion de sens, espace de largeur nulle…) : retapez la valeur.",
                "Field {name}: invisible or control character (line break, direction override, "
                "zero-width space...): retype the value."),
    stored=("Champ « {name} » : caractère invisible ou de contrôle, ou espaces autour.",
            "Field {name}: invisible or control character, or spaces around."),
)  # fmt: skip
"""Any ``field.<name>``: its generic sentence, and the text rule's by what broke it."""


def lookup(code: str) -> Reason:
    """The declared reason ``code`` (a ``field.<name>`` not declared: :data:`FIELD`)."""
    found = REASONS.get(code)
    if found is not None:
        return found
    if code.startswith("field.") and len(code) > len("field."):
        return FIELD
    raise KeyError(f"undeclared reason {code!r}: add it to gateway/core/reasons.py")


def status(code: str) -> int:
    found = lookup(code).status
    assert found is not None, f"{code} is not an HTTP refusal"
    return found


def _fill(text: str, lang: str, values: Mapping[str, object]) -> str:
    for name, value in values.items():
        if isinstance(value, Mapping):  # a figure written differently per language (a date)
            value = value.get(lang, value.get("fr"))
        text = text.replace("{" + name + "}", str(value))
    return text


def sentences(code: str, variant: str = "", **values: object) -> tuple[str, str]:
    """(French, English) of ``code``, its ``variant`` if named, with its ``{placeholders}``
    filled from ``values`` (a value may be ``{"fr": …, "en": …}``). A ``field.<name>``
    reason fills ``{name}`` itself."""
    entry = lookup(code)
    variants = entry.variants
    if code.startswith("field."):  # any field may also be refused by the text rule
        variants = {**FIELD.variants, **variants}
        values = {"name": code.removeprefix("field."), **values}
    fr, en = variants[variant] if variant else (entry.fr, entry.en)
    return _fill(fr, "fr", values), _fill(en, "en", values)


def text_rule(name: str, why: str, **values: object) -> tuple[str, str]:
    """(French, English) of the text rule refusing the field ``name`` because of ``why``
    (``invalid``, ``required``, ``too_long``, ``characters``, ``stored``): :data:`FIELD`'s
    sentences, whatever the field's own constraint sentence is."""
    fr, en = FIELD.variants.get(why, (FIELD.fr, FIELD.en))
    values = {"name": name, **values}
    return _fill(fr, "fr", values), _fill(en, "en", values)


def sentence(code: str, lang: str = "fr", variant: str = "", **values: object) -> str:
    fr, en = sentences(code, variant, **values)
    return en if lang == "en" else fr
