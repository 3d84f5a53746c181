"""The information notice (what is done with people's data), for relatives and for detainees.

Sans-IO: the establishment's facts in, the notice's sections out, in French and English. The
default text follows what the service note and the charter say (calls watched and listened to
live or later, recorded except with a lawyer, kept ``retention_days``, handed to the judiciary on
request) and the rights every person has under the GDPR and the French data protection act
(access, correction, restriction, a complaint to the CNIL). An establishment may replace it with
its own text (:func:`parse_custom`), section by section, per language and audience.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from typing import Literal

Audience = Literal["relative", "detainee"]
AUDIENCES: tuple[Audience, ...] = ("relative", "detainee")
LANGS = ("fr", "en")


@dataclass(frozen=True)
class Facts:
    controller: str
    "Who processes the data (the establishment, under the prison administration)."
    contact: str
    "Where to write to use one's rights."
    retention_days: int
    record_calls: bool = True
    "False: calls are watched and listened to live only, never recorded (``record_calls``)."


@dataclass(frozen=True)
class Section:
    title: str
    text: str


class NoticeError(ValueError):
    """A custom notice that cannot be used (the service refuses to start with it)."""


def _days(n: int, lang: str) -> str:
    if lang == "fr":
        return "1 jour" if n == 1 else f"{n} jours"
    return "1 day" if n == 1 else f"{n} days"


DEFAULT_CONTACT = {
    "fr": "écrivez au chef de l'établissement, qui transmet au délégué à la protection des "
    "données du ministère de la Justice",
    "en": "write to the head of the establishment, who forwards it to the Ministry of "
    "Justice's data protection officer",
}


def default_notice(facts: Facts, audience: Audience, lang: str) -> list[Section]:
    kept = _days(facts.retention_days, lang)
    c, contact = facts.controller, facts.contact or DEFAULT_CONTACT[lang]
    recorded = facts.record_calls
    if lang == "fr":
        you = "vos appels-visio" if audience == "detainee" else "les appels-visio avec votre proche"
        media = (
            "et l'image et le son de l'appel"
            if recorded
            else "mais ni l'image ni le son de l'appel, qui ne sont pas enregistrés"
        )
        what = (
            "Votre numéro d'écrou, la personne appelée, la date, l'heure et la durée de chaque "
            f"appel, son coût sur votre compte, {media}."
            if audience == "detainee"
            else "Votre numéro de téléphone (pour vous envoyer le code par SMS), la date, l'heure "
            f"et la durée de chaque appel, {media}. Aucune application "
            "n'est installée sur votre téléphone."
        )
        watched = (
            Section(
                "Écoute et enregistrement",
                "Les appels peuvent être regardés et écoutés, en "
                "direct ou en différé, par les personnels habilités de l'établissement. Ils "
                "sont enregistrés, sauf les appels avec un avocat, qui ne sont ni écoutés ni "
                "enregistrés.",
            )
            if recorded
            else Section(
                "Écoute",
                "Les appels peuvent être regardés et écoutés en direct par les personnels "
                "habilités de l'établissement, sauf les appels avec un avocat. Ils ne sont pas "
                "enregistrés : rien de leur image ni de leur son n'est conservé.",
            )
        )
        kept_for = [
            Section(
                "Combien de temps",
                f"Les enregistrements sont conservés {kept}, puis "
                "effacés. Ils ne sont gardés plus longtemps que s'ils sont remis à l'autorité "
                "judiciaire, sur sa demande : elle les conserve alors selon ses propres "
                "règles.",
            ),
            Section(
                "Qui peut les voir",
                "Seuls les personnels habilités de l'établissement, et "
                "l'autorité judiciaire sur réquisition. Jamais un autre public.",
            ),
        ]
        return [
            Section(
                "Qui traite vos données",
                f"{c}, sous l'autorité de l'administration "
                "pénitentiaire (ministère de la Justice).",
            ),
            Section(
                "Pourquoi",
                "Pour permettre " + you + ", afin de maintenir les liens "
                "familiaux, et pour la sécurité de l'établissement et la prévention des "
                "infractions.",
            ),
            Section("Ce qui est enregistré", what),
            watched,
            *(kept_for if recorded else []),
            Section(
                "Vos droits",
                "Vous pouvez demander à accéder aux données qui vous "
                "concernent, à les faire corriger ou à en limiter l'usage (règlement général "
                f"sur la protection des données et loi Informatique et Libertés) : {contact}. "
                "Vous pouvez aussi adresser une réclamation à la CNIL (www.cnil.fr).",
            ),
        ]
    you = "your video calls" if audience == "detainee" else "video calls with your relative"
    media = (
        "and the picture and sound of the call"
        if recorded
        else "but not the picture or sound of the call, which are not recorded"
    )
    what = (
        "Your prison number, the person called, the date, time and length of each call, its cost "
        f"on your account, {media}."
        if audience == "detainee"
        else "Your phone number (to send you the code by SMS), the date, time and length of each "
        f"call, {media}. Nothing is installed on your phone."
    )
    watched = (
        Section(
            "Watching and recording",
            "Calls may be watched and listened to, live or later, "
            "by the establishment's authorised staff. They are recorded, except calls with a "
            "lawyer, which are neither listened to nor recorded.",
        )
        if recorded
        else Section(
            "Watching",
            "Calls may be watched and listened to live by the establishment's authorised staff, "
            "except calls with a lawyer. They are not recorded: nothing of their picture or "
            "sound is kept.",
        )
    )
    kept_for = [
        Section(
            "For how long",
            f"Recordings are kept {kept}, then deleted. They are kept "
            "longer only when handed to the judicial authority at its request, which then "
            "keeps them under its own rules.",
        ),
        Section(
            "Who can see them",
            "Only the establishment's authorised staff, and the judicial "
            "authority on request. Never anyone else.",
        ),
    ]
    return [
        Section(
            "Who processes your data",
            f"{c}, under the prison administration (French Ministry of Justice).",
        ),
        Section(
            "Why",
            "To make " + you + " possible, to maintain family ties, and for the "
            "security of the establishment and the prevention of offences.",
        ),
        Section("What is recorded", what),
        watched,
        *(kept_for if recorded else []),
        Section(
            "Your rights",
            "You may ask to access the data about you, to have it corrected "
            "or its use restricted (General Data Protection Regulation and the French data "
            f"protection act): {contact}. You may also complain to the CNIL, the French data "
            "protection authority (www.cnil.fr).",
        ),
    ]


PLACEHOLDERS = ("retention_days", "retention", "controller", "contact")
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def parse_custom(text: str) -> dict[tuple[str, Audience], list[Section]]:
    """An establishment's own notice, as TOML: a table per language and audience, each key a
    section's title and its value the text, in order::

        [fr.relative]
        "Qui traite vos données" = "Le centre pénitentiaire de …"

    What it leaves out keeps the default. The text may name the configured facts, filled in
    when it is shown: ``{retention_days}`` (a number), ``{retention}`` ("90 jours"),
    ``{controller}`` and ``{contact}``; any other ``{name}`` is refused (a typo would be shown to
    families as it is)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise NoticeError(f"privacy notice: not TOML: {exc}") from exc
    out: dict[tuple[str, Audience], list[Section]] = {}
    for lang, audiences in data.items():
        if lang not in LANGS or not isinstance(audiences, dict):
            raise NoticeError(f"privacy notice: unknown language table {lang!r}")
        for audience, sections in audiences.items():
            if audience not in AUDIENCES or not isinstance(sections, dict) or not sections:
                raise NoticeError(f"privacy notice: unknown or empty table {lang}.{audience}")
            parsed = []
            for title, body in sections.items():
                if not isinstance(body, str) or not body.strip() or not title.strip():
                    raise NoticeError(f"privacy notice: {lang}.{audience}: empty section")
                unknown = set(PLACEHOLDER.findall(title + body)) - set(PLACEHOLDERS)
                if unknown:
                    raise NoticeError(
                        f"privacy notice: {lang}.{audience}: unknown placeholder "
                        + ", ".join("{" + name + "}" for name in sorted(unknown))
                    )
                parsed.append(Section(title.strip(), body.strip()))
            out[(lang, audience)] = parsed  # type: ignore[index]
    return out


def notice(
    facts: Facts,
    audience: Audience,
    lang: str,
    custom: dict[tuple[str, Audience], list[Section]] | None = None,
) -> list[Section]:
    if custom and (lang, audience) in custom:
        values = {
            "retention_days": str(facts.retention_days),
            "retention": _days(facts.retention_days, lang),
            "controller": facts.controller,
            "contact": facts.contact or DEFAULT_CONTACT[lang],
        }

        def fill(text: str) -> str:
            return PLACEHOLDER.sub(lambda m: values[m.group(1)], text)

        return [Section(fill(s.title), fill(s.text)) for s in custom[(lang, audience)]]
    return default_notice(facts, audience, lang)
