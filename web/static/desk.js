/* Parloir — the booking desk: guard's desk, day planning, movement list, charter, CSV import.
 *
 * One script for the five /desk pages; <body data-page="..."> says which one. No build step,
 * no inline code (CSP script-src 'self'). Texts are in TEXTS below, French by default, English
 * with ?lang=en or the toggle (kept in localStorage, shared with the other Parloir pages).
 * Static texts carry data-i18n="key" (their French text is in the markup too); dynamic parts are
 * rebuilt by each page's render() when the language changes. Every server refusal is
 * {reason, message}: the message (in the page's language, ?lang= is sent) is shown as is.
 *
 * Times: the API gives ISO strings in the establishment's time zone ("2026-12-02T08:30:00+01:00").
 * They are shown as written (hours = characters 11-16, date = 0-10), never converted to the
 * browser's zone, so the desk PC's clock settings cannot shift a slot.
 */
import { makeStaffKit } from './staff-kit.js';

const TEXTS = {
  fr: {
    'lang.switch': 'English',
    'nav.skip': 'Aller au contenu',
    'nav.brand': 'Bureau de la zone activités',

    'common.close': 'Fermer',
    'common.date': 'Date',
    'common.show': 'Afficher',
    'common.prev_day': '← Jour précédent',
    'common.next_day': 'Jour suivant →',
    'common.print': 'Imprimer',
    'common.loading': 'Chargement…',
    'common.too_large': 'Le fichier est trop gros pour être envoyé.',
    'common.bad_date': 'Date invalide.',
    'common.required': 'Champs obligatoires à remplir : {fields}.',

    'loc.building': 'Bât. {v}',
    'loc.floor': 'étage {v}',
    'loc.cell': 'cellule {v}',
    'loc.none': 'non renseignée',

    'detainee.status.active': 'Actif',
    'detainee.status.suspended': 'Suspendu',
    'detainee.status.released': 'Libéré',
    'corr.status.authorised': 'Autorisé',
    'corr.status.suspended': 'Suspendu',
    'corr.status.withdrawn': 'Retiré',
    'booking.status.booked': 'Réservé',
    'booking.status.cancelled': 'Annulé',
    'booking.status.done': 'Effectué',
    'booking.status.no_answer': 'Sans réponse',

    /* Desk */
    'desk.page.title': 'Parloir — Réservations de visiophonie',
    'desk.title': 'Réservations de visiophonie',
    'desk.search.title': 'Rechercher une personne détenue',
    'desk.search.label': 'Numéro d’écrou ou nom',
    'desk.search.submit': 'Rechercher',
    'desk.search.empty': 'Saisissez un numéro d’écrou ou une partie du nom.',
    'desk.search.none': 'Aucune personne détenue ne correspond à « {q} ».',
    'desk.search.one': '1 personne trouvée.',
    'desk.search.many': '{n} personnes trouvées.',
    'desk.search.number': 'n° {n}',
    'desk.file.title': '{name} — n° {number}',
    'desk.file.number': 'Numéro d’écrou',
    'desk.file.name': 'Nom, prénom',
    'desk.file.location': 'Localisation',
    'desk.file.status': 'Statut',
    'desk.file.notfound': 'Aucune personne détenue avec le numéro d’écrou {n}.',
    'desk.charter.signed': 'Charte signée le {date} à {time} (enregistrée par {guard}).',
    'desk.charter.missing': 'Charte non signée : aucune réservation n’est possible avant la signature.',
    'desk.charter.sign': 'Enregistrer la signature de la charte',
    'desk.charter.print': 'Imprimer la charte à signer',
    'desk.charter.done': 'Signature de la charte enregistrée.',
    'desk.account.title': 'Compte téléphonique',
    'desk.account.balance': 'Solde',
    'desk.account.held': 'Bloqué',
    'desk.account.available': 'Disponible',
    'desk.corr.title': 'Correspondants',
    'desk.corr.none': 'Aucun correspondant enregistré.',
    'desk.corr.add': 'Ajouter un correspondant',
    'desk.corr.edit': 'Modifier le correspondant : {name}',
    'desk.corr.edit.button': 'Modifier',
    'desk.corr.edit.aria': 'Modifier {name}',
    'desk.corr.name': 'Nom et prénom',
    'desk.corr.phone': 'Téléphone',
    'desk.corr.relationship': 'Lien',
    'desk.corr.status': 'Autorisation',
    'desk.corr.lawyer': 'Avocat (appels ni enregistrés ni écoutés)',
    'desk.corr.minor': 'Mineur',
    'desk.corr.consent': 'Accord donné par (titulaire(s) de l’autorité parentale)',
    'desk.corr.consent.hint': 'Sans cet accord, aucun appel ne peut être réservé avec ce correspondant.',
    'desk.corr.save': 'Enregistrer le correspondant',
    'desk.corr.reset': 'Annuler la modification',
    'desk.corr.saved': 'Correspondant enregistré : {name}.',
    'desk.corr.badge.minor': 'Mineur',
    'desk.corr.badge.consent': 'accord de {by}',
    'desk.corr.badge.no_consent': 'sans accord parental',
    'desk.corr.badge.lawyer': 'Avocat',
    'desk.bookings.title': 'Réservations',
    'desk.bookings.coming': 'À venir',
    'desk.bookings.past': 'Passées ou annulées',
    'desk.bookings.none': 'Aucune.',
    'desk.bookings.with': 'avec {name}',
    'desk.bookings.receipt_no': 'bon n° {n}',
    'desk.bookings.receipt': 'Bon (PDF)',
    'desk.bookings.receipt.aria': 'Bon n° {n} (PDF)',
    'desk.bookings.cancel': 'Annuler…',
    'desk.bookings.cancel.aria': 'Annuler la réservation du {when}',
    'desk.bookings.cancelled': 'Annulée par {guard} : {reason}',
    'desk.bookings.by': 'Réservée par {guard}',
    'desk.detainee.new': 'Créer une fiche de personne détenue',
    'desk.detainee.edit': 'Modifier la fiche : {name}',
    'desk.detainee.edit.button': 'Modifier la fiche',
    'desk.detainee.number': 'Numéro d’écrou',
    'desk.detainee.last': 'Nom',
    'desk.detainee.first': 'Prénom',
    'desk.detainee.building': 'Bâtiment',
    'desk.detainee.floor': 'Étage',
    'desk.detainee.cell': 'Cellule',
    'desk.detainee.code': 'Code d’accès à la borne',
    'desk.detainee.code.hint': '4 à 8 chiffres. Obligatoire pour une nouvelle fiche.',
    'desk.detainee.code.hint.edit': '4 à 8 chiffres. Laisser vide pour garder le code actuel.',
    'desk.detainee.status': 'Statut',
    'desk.detainee.save': 'Enregistrer la fiche',
    'desk.detainee.blank': 'Nouvelle fiche vierge',
    'desk.detainee.saved': 'Fiche enregistrée : {name}.',
    'desk.cal.title': 'Calendrier de la semaine',
    'desk.cal.kiosk': 'Salle et borne',
    'desk.cal.prev': '← Semaine précédente',
    'desk.cal.today': 'Cette semaine',
    'desk.cal.next': 'Semaine suivante →',
    'desk.cal.week': 'Semaine du {from} au {to}',
    'desk.cal.slot': 'Créneau',
    'desk.cal.hint.pick': 'Choisissez une personne détenue (recherche), puis cliquez sur un créneau libre.',
    'desk.cal.hint.ready': 'Cliquez sur un créneau libre pour réserver pour {name}.',
    'desk.cal.free': 'Libre',
    'desk.cal.free.sub': 'Réserver',
    'desk.cal.free.aria': 'Réserver le {day} de {start} à {end}',
    'desk.cal.booked': 'Réservé',
    'desk.cal.booked.who': 'Ouvrir la fiche de {name}',
    'desk.cal.closed.sunday': 'Dimanche',
    'desk.cal.closed.holiday': 'Jour férié',
    'desk.cal.closed.too_late': 'Trop tard',
    'desk.cal.closed.past': 'Passé',
    'desk.cal.closed.full': 'Complet',
    'desk.cal.closed.other': 'Fermé',
    'desk.cal.day.sunday': 'Dimanche : pas de visiophonie',
    'desk.cal.day.holiday': 'Jour férié : pas de visiophonie',
    'desk.cal.no_slot': 'Pas de créneau',
    'desk.cal.nodetainee': 'Choisissez d’abord une personne détenue (recherche), puis cliquez sur le créneau.',
    'desk.cal.legend.free': 'Libre',
    'desk.cal.legend.booked': 'Réservé',
    'desk.cal.legend.mine': 'Réservé par la personne choisie',
    'desk.cal.legend.closed': 'Fermé',
    'desk.book.title': 'Réserver ce créneau',
    'desk.book.detainee': 'Personne détenue',
    'desk.book.slot': 'Créneau',
    'desk.book.room': 'Salle',
    'desk.book.correspondent': 'Correspondant',
    'desk.book.choose': '— Choisir le correspondant —',
    'desk.book.choose.missing': 'Choisissez le correspondant.',
    'desk.book.none': 'Aucun correspondant autorisé : ajoutez-en un ou mettez à jour son autorisation dans la fiche.',
    'desk.book.opt.blocked': '{name} — {why}',
    'desk.book.opt.no_consent': 'mineur sans accord parental',
    'desk.book.confirm': 'Confirmer la réservation',
    'desk.book.busy': 'Réservation en cours…',
    'desk.book.done': 'Réservation enregistrée : {name} (n° {number}), {when}, {room}, avec {corr}.',
    'desk.book.receipt': 'Bon n°',
    'desk.book.print': 'Imprimer le bon (PDF)',
    'desk.book.day': 'Planning de ce jour',
    'desk.book.movements': 'Liste des mouvements de ce jour',
    'desk.cancel.title': 'Annuler la réservation',
    'desk.cancel.what': '{name} — {when}, avec {corr}.',
    'desk.cancel.reason': 'Motif de l’annulation',
    'desk.cancel.reason.missing': 'Indiquez le motif de l’annulation.',
    'desk.cancel.confirm': 'Annuler la réservation',
    'desk.cancel.keep': 'Garder la réservation',
    'desk.cancel.done': 'Réservation du {when} annulée ; le crédit bloqué est libéré.',

    /* Day planning and movement list */
    'day.page.title': 'Parloir — Planning du jour',
    'day.title': 'Planning du jour — zone activités',
    'day.empty': 'Aucune réservation ce jour.',
    'day.meta.one': '{establishment} — {date} — 1 réservation',
    'day.meta.many': '{establishment} — {date} — {n} réservations',
    'movements.page.title': 'Parloir — Liste des mouvements',
    'movements.title': 'Liste des mouvements — visiophonie',
    'movements.intro': 'Pour les surveillants d’étage : chaque personne doit être en salle à l’heure indiquée, avec ses identifiants et son code d’accès, son masque et sa carte de circulation.',
    'movements.bring': 'À emporter : identifiants et code d’accès, masque, carte de circulation.',
    'movements.empty': 'Aucun mouvement prévu ce jour.',
    'movements.meta.one': '{establishment} — {date} — 1 mouvement',
    'movements.meta.many': '{establishment} — {date} — {n} mouvements',
    'movements.building': 'Bâtiment {b}',
    'movements.building.none': 'Bâtiment non renseigné',
    'col.time': 'Heure',
    'col.room': 'Salle (borne)',
    'col.detainee': 'Personne détenue',
    'col.number': 'Écrou',
    'col.location': 'Bâtiment / étage / cellule',
    'col.correspondent': 'Correspondant',
    'col.status': 'Statut',
    'col.check': 'Présent',
    'col.floor': 'Étage',
    'col.cell': 'Cellule',
    'col.in_room': 'En salle à',
    'col.left': 'Parti à',
    'doc.visa': 'Visa du surveillant de la zone activités :',

    /* Charter */
    'charter.page.title': 'Parloir — Charte d’utilisation de la visiophonie',
    'charter.form.number': 'Numéro d’écrou de la personne détenue',
    'charter.form.fill': 'Remplir',
    'charter.note': 'Imprimez la charte en deux exemplaires : l’un pour la personne détenue, l’autre pour le dossier. Puis enregistrez la signature depuis la page Réservations.',
    'charter.notfound': 'Aucune personne détenue avec le numéro d’écrou {n} : la charte est laissée à remplir à la main.',
    'charter.signed': 'Signature déjà enregistrée le {date} par {guard}.',

    /* Import */
    'import.page.title': 'Parloir — Import CSV',
    'import.title': 'Import d’un fichier CSV',
    'import.intro': 'Vérifiez d’abord le fichier (essai à blanc : rien n’est enregistré). Le bouton « Importer » n’est disponible qu’après une vérification sans erreur du même fichier.',
    'import.form.title': 'Fichier à importer',
    'import.kind': 'Contenu du fichier',
    'import.kind.detainees': 'Personnes détenues',
    'import.kind.correspondents': 'Correspondants',
    'import.file': 'Fichier CSV',
    'import.file.hint': 'Séparateur « ; » ou « , » ; encodage UTF-8 ou Windows-1252 (Excel « CSV séparateur point-virgule »).',
    'import.file.missing': 'Choisissez un fichier CSV.',
    'import.dry_run': 'Vérifier (essai à blanc)',
    'import.do': 'Importer',
    'import.gate': '« Importer » s’active après une vérification sans erreur de ce fichier.',
    'import.busy.check': 'Vérification du fichier…',
    'import.busy.import': 'Import en cours…',
    'import.columns.title': 'Colonnes attendues',
    'import.columns.intro': 'La première ligne donne les noms des colonnes, dans n’importe quel ordre (majuscules et accents indifférents). Les colonnes marquées * sont obligatoires.',
    'import.col.ecrou': 'numéro d’écrou (lettres et chiffres)',
    'import.col.code': 'code d’accès à la borne, 4 à 8 chiffres',
    'import.col.dstatus': 'actif, suspendu ou libéré (actif si vide)',
    'import.col.owner': 'écrou de la personne détenue',
    'import.col.fullname': 'nom complet',
    'import.col.phone': '06 12 34 56 78, +33 6 12 34 56 78…',
    'import.col.lien': 'lien de parenté',
    'import.col.yesno': 'oui ou non (non si vide)',
    'import.col.consent': 'accord des titulaires de l’autorité parentale pour un mineur ; date JJ/MM/AAAA',
    'import.col.cstatus': 'autorisé, suspendu ou retiré (autorisé si vide)',
    'import.example': 'Exemple',
    'import.report.title': 'Résultat',
    'import.errors': 'Erreurs à corriger dans le fichier',
    'import.warnings': 'Avertissements',
    'import.col.line': 'Ligne',
    'import.col.column': 'Colonne',
    'import.col.message': 'Erreur',
    'import.col.reason': 'Code',
    'import.dry.ok': 'Fichier correct : {rows} ligne(s) prête(s) à importer. Rien n’est encore enregistré : cliquez sur « Importer ».',
    'import.dry.errors': '{count} erreur(s) : rien n’a été importé. Corrigez le fichier, puis vérifiez-le à nouveau.',
    'import.done': 'Import terminé : {imported} fiche(s) enregistrée(s) sur {rows} ligne(s).',
    'import.failed': 'L’import a été refusé : {count} erreur(s). Rien n’a été importé.',
    'import.changed': 'Le fichier ou son contenu a changé depuis la vérification : vérifiez-le à nouveau.',
    'import.warning.item': 'Ligne {line}{column} : {message}',
    'import.warning.column': ', colonne {column}',
  },

  en: {
    'lang.switch': 'Français',
    'nav.skip': 'Skip to content',
    'nav.brand': 'Activities-zone desk',

    'common.close': 'Close',
    'common.date': 'Date',
    'common.show': 'Show',
    'common.prev_day': '← Previous day',
    'common.next_day': 'Next day →',
    'common.print': 'Print',
    'common.loading': 'Loading…',
    'common.too_large': 'The file is too large to be sent.',
    'common.bad_date': 'Invalid date.',
    'common.required': 'Required fields: {fields}.',

    'loc.building': 'Building {v}',
    'loc.floor': 'floor {v}',
    'loc.cell': 'cell {v}',
    'loc.none': 'not recorded',

    'detainee.status.active': 'Active',
    'detainee.status.suspended': 'Suspended',
    'detainee.status.released': 'Released',
    'corr.status.authorised': 'Authorised',
    'corr.status.suspended': 'Suspended',
    'corr.status.withdrawn': 'Withdrawn',
    'booking.status.booked': 'Booked',
    'booking.status.cancelled': 'Cancelled',
    'booking.status.done': 'Done',
    'booking.status.no_answer': 'No answer',

    'desk.page.title': 'Parloir — Video call bookings',
    'desk.title': 'Video call bookings',
    'desk.search.title': 'Find a prisoner',
    'desk.search.label': 'Prison number or name',
    'desk.search.submit': 'Search',
    'desk.search.empty': 'Type a prison number or part of the name.',
    'desk.search.none': 'No prisoner matches “{q}”.',
    'desk.search.one': '1 prisoner found.',
    'desk.search.many': '{n} prisoners found.',
    'desk.search.number': 'no. {n}',
    'desk.file.title': '{name} — no. {number}',
    'desk.file.number': 'Prison number',
    'desk.file.name': 'Name',
    'desk.file.location': 'Location',
    'desk.file.status': 'Status',
    'desk.file.notfound': 'No prisoner with number {n}.',
    'desk.charter.signed': 'Charter signed on {date} at {time} (recorded by {guard}).',
    'desk.charter.missing': 'Charter not signed: no booking is possible until it is signed.',
    'desk.charter.sign': 'Record the charter signature',
    'desk.charter.print': 'Print the charter to sign',
    'desk.charter.done': 'Charter signature recorded.',
    'desk.account.title': 'Phone account',
    'desk.account.balance': 'Balance',
    'desk.account.held': 'Held',
    'desk.account.available': 'Available',
    'desk.corr.title': 'Contacts',
    'desk.corr.none': 'No contact recorded.',
    'desk.corr.add': 'Add a contact',
    'desk.corr.edit': 'Edit contact: {name}',
    'desk.corr.edit.button': 'Edit',
    'desk.corr.edit.aria': 'Edit {name}',
    'desk.corr.name': 'Full name',
    'desk.corr.phone': 'Phone',
    'desk.corr.relationship': 'Relationship',
    'desk.corr.status': 'Authorisation',
    'desk.corr.lawyer': 'Lawyer (calls neither recorded nor monitored)',
    'desk.corr.minor': 'Minor',
    'desk.corr.consent': 'Consent given by (holder(s) of parental authority)',
    'desk.corr.consent.hint': 'Without this consent, no call can be booked with this contact.',
    'desk.corr.save': 'Save the contact',
    'desk.corr.reset': 'Cancel editing',
    'desk.corr.saved': 'Contact saved: {name}.',
    'desk.corr.badge.minor': 'Minor',
    'desk.corr.badge.consent': 'consent by {by}',
    'desk.corr.badge.no_consent': 'no parental consent',
    'desk.corr.badge.lawyer': 'Lawyer',
    'desk.bookings.title': 'Bookings',
    'desk.bookings.coming': 'Coming',
    'desk.bookings.past': 'Past or cancelled',
    'desk.bookings.none': 'None.',
    'desk.bookings.with': 'with {name}',
    'desk.bookings.receipt_no': 'receipt no. {n}',
    'desk.bookings.receipt': 'Receipt (PDF)',
    'desk.bookings.receipt.aria': 'Receipt no. {n} (PDF)',
    'desk.bookings.cancel': 'Cancel…',
    'desk.bookings.cancel.aria': 'Cancel the booking of {when}',
    'desk.bookings.cancelled': 'Cancelled by {guard}: {reason}',
    'desk.bookings.by': 'Booked by {guard}',
    'desk.detainee.new': 'Create a prisoner record',
    'desk.detainee.edit': 'Edit the record: {name}',
    'desk.detainee.edit.button': 'Edit the record',
    'desk.detainee.number': 'Prison number',
    'desk.detainee.last': 'Last name',
    'desk.detainee.first': 'First name',
    'desk.detainee.building': 'Building',
    'desk.detainee.floor': 'Floor',
    'desk.detainee.cell': 'Cell',
    'desk.detainee.code': 'Kiosk access code',
    'desk.detainee.code.hint': '4 to 8 digits. Required for a new record.',
    'desk.detainee.code.hint.edit': '4 to 8 digits. Leave empty to keep the current code.',
    'desk.detainee.status': 'Status',
    'desk.detainee.save': 'Save the record',
    'desk.detainee.blank': 'New blank record',
    'desk.detainee.saved': 'Record saved: {name}.',
    'desk.cal.title': 'Week calendar',
    'desk.cal.kiosk': 'Room and kiosk',
    'desk.cal.prev': '← Previous week',
    'desk.cal.today': 'This week',
    'desk.cal.next': 'Next week →',
    'desk.cal.week': 'Week from {from} to {to}',
    'desk.cal.slot': 'Slot',
    'desk.cal.hint.pick': 'Choose a prisoner (search), then click a free slot.',
    'desk.cal.hint.ready': 'Click a free slot to book for {name}.',
    'desk.cal.free': 'Free',
    'desk.cal.free.sub': 'Book',
    'desk.cal.free.aria': 'Book {day} from {start} to {end}',
    'desk.cal.booked': 'Booked',
    'desk.cal.booked.who': 'Open the record of {name}',
    'desk.cal.closed.sunday': 'Sunday',
    'desk.cal.closed.holiday': 'Public holiday',
    'desk.cal.closed.too_late': 'Too late',
    'desk.cal.closed.past': 'Past',
    'desk.cal.closed.full': 'Full',
    'desk.cal.closed.other': 'Closed',
    'desk.cal.day.sunday': 'Sunday: no video calls',
    'desk.cal.day.holiday': 'Public holiday: no video calls',
    'desk.cal.no_slot': 'No slot',
    'desk.cal.nodetainee': 'First choose a prisoner (search), then click the slot.',
    'desk.cal.legend.free': 'Free',
    'desk.cal.legend.booked': 'Booked',
    'desk.cal.legend.mine': 'Booked by the chosen prisoner',
    'desk.cal.legend.closed': 'Closed',
    'desk.book.title': 'Book this slot',
    'desk.book.detainee': 'Prisoner',
    'desk.book.slot': 'Slot',
    'desk.book.room': 'Room',
    'desk.book.correspondent': 'Contact',
    'desk.book.choose': '— Choose the contact —',
    'desk.book.choose.missing': 'Choose the contact.',
    'desk.book.none': 'No authorised contact: add one or update their authorisation in the record.',
    'desk.book.opt.blocked': '{name} — {why}',
    'desk.book.opt.no_consent': 'minor without parental consent',
    'desk.book.confirm': 'Confirm the booking',
    'desk.book.busy': 'Booking…',
    'desk.book.done': 'Booking saved: {name} (no. {number}), {when}, {room}, with {corr}.',
    'desk.book.receipt': 'Receipt no.',
    'desk.book.print': 'Print the receipt (PDF)',
    'desk.book.day': 'Planning of that day',
    'desk.book.movements': 'Movement list of that day',
    'desk.cancel.title': 'Cancel the booking',
    'desk.cancel.what': '{name} — {when}, with {corr}.',
    'desk.cancel.reason': 'Reason for the cancellation',
    'desk.cancel.reason.missing': 'Give the reason for the cancellation.',
    'desk.cancel.confirm': 'Cancel the booking',
    'desk.cancel.keep': 'Keep the booking',
    'desk.cancel.done': 'Booking of {when} cancelled; the held credit is released.',

    'day.page.title': 'Parloir — Day planning',
    'day.title': 'Day planning — activities zone',
    'day.empty': 'No booking on this day.',
    'day.meta.one': '{establishment} — {date} — 1 booking',
    'day.meta.many': '{establishment} — {date} — {n} bookings',
    'movements.page.title': 'Parloir — Movement list',
    'movements.title': 'Movement list — video calls',
    'movements.intro': 'For floor officers: each person must be in the room at the time given, with their login and access code, mask and movement card.',
    'movements.bring': 'To bring: login and access code, mask, movement card.',
    'movements.empty': 'No movement planned on this day.',
    'movements.meta.one': '{establishment} — {date} — 1 movement',
    'movements.meta.many': '{establishment} — {date} — {n} movements',
    'movements.building': 'Building {b}',
    'movements.building.none': 'Building not recorded',
    'col.time': 'Time',
    'col.room': 'Room (kiosk)',
    'col.detainee': 'Prisoner',
    'col.number': 'Number',
    'col.location': 'Building / floor / cell',
    'col.correspondent': 'Contact',
    'col.status': 'Status',
    'col.check': 'Present',
    'col.floor': 'Floor',
    'col.cell': 'Cell',
    'col.in_room': 'In the room at',
    'col.left': 'Left at',
    'doc.visa': 'Signature of the activities-zone officer:',

    'charter.page.title': 'Parloir — Video call charter',
    'charter.form.number': 'Prison number of the prisoner',
    'charter.form.fill': 'Fill in',
    'charter.note': 'The charter is the official French text and is printed in French. Print two copies (one for the prisoner, one for the file), then record the signature on the Bookings page.',
    'charter.notfound': 'No prisoner with number {n}: the charter is left to be filled in by hand.',
    'charter.signed': 'Signature already recorded on {date} by {guard}.',

    'import.page.title': 'Parloir — CSV import',
    'import.title': 'Import a CSV file',
    'import.intro': 'First check the file (dry run: nothing is saved). The “Import” button is only available after an error-free check of the same file.',
    'import.form.title': 'File to import',
    'import.kind': 'The file lists',
    'import.kind.detainees': 'Prisoners',
    'import.kind.correspondents': 'Contacts',
    'import.file': 'CSV file',
    'import.file.hint': 'Separator “;” or “,”; UTF-8 or Windows-1252 encoding (Excel “CSV semicolon separated”).',
    'import.file.missing': 'Choose a CSV file.',
    'import.dry_run': 'Check (dry run)',
    'import.do': 'Import',
    'import.gate': '“Import” becomes available after an error-free check of this file.',
    'import.busy.check': 'Checking the file…',
    'import.busy.import': 'Importing…',
    'import.columns.title': 'Expected columns',
    'import.columns.intro': 'The first line names the columns, in any order (case and accents do not matter). Columns marked * are required. Column names stay in French.',
    'import.col.ecrou': 'prison number (letters and digits)',
    'import.col.code': 'kiosk access code, 4 to 8 digits',
    'import.col.dstatus': 'actif, suspendu or libéré (actif when empty)',
    'import.col.owner': 'prison number of the prisoner',
    'import.col.fullname': 'full name',
    'import.col.phone': '06 12 34 56 78, +33 6 12 34 56 78…',
    'import.col.lien': 'relationship',
    'import.col.yesno': 'oui or non (non when empty)',
    'import.col.consent': 'consent of the holders of parental authority for a minor; date DD/MM/YYYY',
    'import.col.cstatus': 'autorisé, suspendu or retiré (autorisé when empty)',
    'import.example': 'Example',
    'import.report.title': 'Result',
    'import.errors': 'Errors to fix in the file',
    'import.warnings': 'Warnings',
    'import.col.line': 'Line',
    'import.col.column': 'Column',
    'import.col.message': 'Error',
    'import.col.reason': 'Code',
    'import.dry.ok': 'The file is correct: {rows} line(s) ready to import. Nothing is saved yet: click “Import”.',
    'import.dry.errors': '{count} error(s): nothing was imported. Fix the file, then check it again.',
    'import.done': 'Import done: {imported} record(s) saved out of {rows} line(s).',
    'import.failed': 'The import was refused: {count} error(s). Nothing was imported.',
    'import.changed': 'The file or its content changed since it was checked: check it again.',
    'import.warning.item': 'Line {line}{column}: {message}',
    'import.warning.column': ', column {column}',
  },
};

const kit = makeStaffKit(TEXTS);
const {
  renderers, t, known, say, setLang, initLang, $, h, fill, setInvalid,
} = kit;

function badge(text, kind) {
  return h('span', { class: 'badge badge-' + kind, text });
}

/** Check required inputs; mark them, focus the first missing, return false if any. */
function checkRequired(inputs, errorEl) {
  const missing = inputs.filter((input) => !input.value.trim());
  inputs.forEach((input) => setInvalid(input, missing.includes(input)));
  if (!missing.length) return true;
  const names = missing.map((input) => {
    const label = document.querySelector('label[for="' + input.id + '"]');
    return label ? label.textContent.trim() : input.name;
  });
  say(errorEl, () => t('common.required', { fields: names.join(', ') }));
  missing[0].focus();
  return false;
}

/* ------------------------------------------------------------------- API */

/** A JSON request (api.js): {ok, status, data}, never throws; a file too large for the
 *  server's limit (413, answered before any handler) is named as such. */
async function request(method, path, body, raw) {
  const res = await kit.call(method, path, body, raw);
  if (res.status === 413) res.data.message = t('common.too_large');
  return res;
}

const get = (path) => request('GET', path);
const post = (path, body) => request('POST', path, body);

/* ----------------------------------------------------------- formatting */

function locale() { return kit.lang === 'en' ? 'en-GB' : 'fr-FR'; }

function parseDay(text) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text || '');
  if (!m) return null;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return Number.isNaN(d.getTime()) ? null : d;
}

function dayString(d) { return d.toISOString().slice(0, 10); }

function addDays(text, n) {
  const d = parseDay(text);
  d.setUTCDate(d.getUTCDate() + n);
  return dayString(d);
}

function mondayOf(text) {
  const d = parseDay(text);
  d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
  return dayString(d);
}

function formatDay(text, options) {
  const d = parseDay(text);
  if (!d) return text || '';
  return new Intl.DateTimeFormat(locale(), Object.assign({ timeZone: 'UTC' }, options)).format(d);
}

const longDay = (text) => formatDay(text, { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });
const dayMonth = (text) => formatDay(text, { weekday: 'long', day: 'numeric', month: 'long' });
const isoDay = (iso) => String(iso || '').slice(0, 10);
const hm = (iso) => String(iso || '').slice(11, 16);
const range = (item) => hm(item.start) + '–' + hm(item.end);
const when = (item) => longDay(isoDay(item.start)) + ', ' + range(item);

/** "12,34 €" (fr) or "€12.34" (en), from cents. */
function euros(cents) {
  const n = Math.round(Number(cents) || 0);
  const sign = n < 0 ? '-' : '';
  const abs = Math.abs(n);
  const units = String(Math.floor(abs / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, kit.lang === 'en' ? ',' : '\u202f');
  const rest = String(abs % 100).padStart(2, '0');
  return kit.lang === 'en' ? sign + '€' + units + '.' + rest : sign + units + ',' + rest + '\u00a0€';
}

function location(item) {
  const parts = [];
  if (item.building) parts.push(t('loc.building', { v: item.building }));
  if (item.floor) parts.push(t('loc.floor', { v: item.floor }));
  if (item.cell) parts.push(t('loc.cell', { v: item.cell }));
  return parts.length ? parts.join(', ') : t('loc.none');
}

function statusBadge(prefix, status) {
  const kinds = {
    active: 'ok', authorised: 'ok', booked: 'ok', done: 'muted',
    suspended: 'warn', no_answer: 'warn', released: 'muted', withdrawn: 'bad', cancelled: 'bad',
  };
  const key = prefix + '.' + status;
  return badge(known(key) ? t(key) : status, kinds[status] || 'muted');
}

/** Natural order for building/floor/cell ("2" before "10", "" last). */
function natural(a, b) {
  if (!a && b) return 1;
  if (a && !b) return -1;
  return String(a || '').localeCompare(String(b || ''), 'fr', { numeric: true, sensitivity: 'base' });
}

function setQuery(params) {
  const url = new URL(window.location.href);
  Object.entries(params).forEach(([key, value]) => {
    if (value) url.searchParams.set(key, value);
    else url.searchParams.delete(key);
  });
  window.history.replaceState(null, '', url.toString());
}

/** Keep the date in the day/movement links of the navigation. */
function navDate(date) {
  document.querySelectorAll('a[data-nav="day"]').forEach((a) => {
    a.href = '/desk/jour' + (date ? '?date=' + date : '');
  });
  document.querySelectorAll('a[data-nav="movements"]').forEach((a) => {
    a.href = '/desk/mouvements' + (date ? '?date=' + date : '');
  });
}

function receiptUrl(booking) {
  return '/api/desk/bookings/' + encodeURIComponent(booking.id) + '/receipt.pdf' +
    (kit.lang === 'en' ? '?lang=en' : '');
}

/* ================================================================= desk */

function initDesk() {
  const S = {
    est: null,
    kiosk: null,
    week: null,
    today: null,
    cal: null,
    file: null,
    results: null,
    query: '',
    lastBooking: null,
    slot: null,
    cancelling: null,
    editingCorr: null,
    editingDetainee: false,
    returnFocus: null,
  };
  const params = new URLSearchParams(window.location.search);

  /* --- search --- */
  $('search-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const q = $('search-q').value.trim();
    S.query = q;
    if (!q) {
      S.results = null;
      say($('search-status'), () => t('desk.search.empty'));
      renderResults();
      return;
    }
    say($('search-status'), t('common.loading'));
    const res = await get('/api/desk/detainees?q=' + encodeURIComponent(q));
    if (!res.ok) {
      S.results = null;
      say($('search-status'), res.data.message);
      renderResults();
      return;
    }
    S.results = Array.isArray(res.data) ? res.data : [];
    renderResults();
  });

  function renderResults() {
    const list = $('search-results');
    list.replaceChildren();
    if (!S.results) return;
    const n = S.results.length;
    if (!n) say($('search-status'), t('desk.search.none', { q: S.query }));
    else say($('search-status'), n === 1 ? t('desk.search.one') : t('desk.search.many', { n }));
    S.results.forEach((d) => {
      const current = S.file && S.file.detainee.number === d.number;
      const meta = [t('desk.search.number', { n: d.number }), location(d),
        t('detainee.status.' + d.status)];
      list.append(h('li', null, h('button', {
        type: 'button',
        class: 'result',
        'aria-current': current ? 'true' : null,
        dataset: { number: d.number },
        onclick: () => loadFile(d.number, true),
      }, h('span', { class: 'result-name', text: d.full_name }),
      h('span', { class: 'result-meta', text: meta.join(' · ') }))));
    });
  }

  /* --- detainee file --- */
  async function loadFile(number, focus) {
    const res = await get('/api/desk/detainees/' + encodeURIComponent(number));
    if (!res.ok) {
      if (res.status === 404) {
        S.file = null;
        $('file').hidden = true;
        setQuery({ numero: null });
        say($('calendar-error'), () => t('desk.file.notfound', { n: number }));
      } else {
        say($('file-error'), res.data.message);
      }
      renderCalendar();
      return;
    }
    const other = !S.file || S.file.detainee.number !== res.data.detainee.number;
    S.file = res.data;
    say($('file-error'), '');
    say($('calendar-error'), '');
    if (other) {
      ['file-status', 'corr-status-msg', 'bookings-status', 'detainee-status'].forEach((id) => say($(id), ''));
      if (S.editingCorr) resetCorrForm();
      if (S.editingDetainee) {
        S.editingDetainee = false;
        fillDetaineeForm(null);
      }
    }
    setQuery({ numero: S.file.detainee.number });
    renderFile();
    renderResults();
    renderCalendar();
    if (focus) $('file-title').focus();
  }

  function reloadFile() {
    return S.file ? loadFile(S.file.detainee.number, false) : Promise.resolve();
  }

  function renderFile() {
    const f = S.file;
    if (!f) return;
    const d = f.detainee;
    $('file').hidden = false;
    say($('file-title'), t('desk.file.title', { name: d.full_name, number: d.number }));

    const row = (label, value) => h('div', null, h('dt', { text: label }), h('dd', null, value));
    $('identity').replaceChildren(
      row(t('desk.file.name'), d.full_name),
      row(t('desk.file.number'), d.number),
      row(t('desk.file.location'), location(d)),
      row(t('desk.file.status'), statusBadge('detainee.status', d.status)),
    );

    const box = $('charter-box');
    box.classList.toggle('missing', !d.charter_signed);
    say($('charter-state'), d.charter_signed
      ? t('desk.charter.signed', {
        date: longDay(isoDay(d.charter_signed_at)),
        time: hm(d.charter_signed_at),
        guard: d.charter_signed_by || '—',
      })
      : t('desk.charter.missing'));
    $('sign-charter').hidden = Boolean(d.charter_signed);
    $('charter-print').href = '/desk/charte?numero=' + encodeURIComponent(d.number);

    say($('account-balance'), euros(f.account.balance));
    say($('account-held'), euros(f.account.held));
    say($('account-available'), euros(f.account.available));

    const corrList = $('corr-list');
    corrList.replaceChildren();
    if (!f.correspondents.length) corrList.append(h('li', { class: 'empty', text: t('desk.corr.none') }));
    f.correspondents.forEach((c) => {
      const badges = [statusBadge('corr.status', c.status)];
      if (c.minor) {
        badges.push(badge(t('desk.corr.badge.minor'), 'warn'));
        badges.push(c.parental_consent
          ? badge(t('desk.corr.badge.consent', { by: c.consent_by }), 'ok')
          : badge(t('desk.corr.badge.no_consent'), 'bad'));
      }
      if (c.lawyer) badges.push(badge(t('desk.corr.badge.lawyer'), 'muted'));
      const meta = [c.relationship, c.phone_masked].filter(Boolean).join(' · ');
      corrList.append(h('li', { class: 'person', dataset: { cid: c.id } },
        h('div', { class: 'person-head' },
          h('span', { class: 'person-name', text: c.name }), badges,
          h('button', {
            type: 'button',
            class: 'btn btn-secondary btn-small',
            dataset: { needs: 'people' },
            'aria-label': t('desk.corr.edit.aria', { name: c.name }),
            onclick: () => editCorrespondent(c),
          }, t('desk.corr.edit.button'))),
        meta ? h('p', { class: 'person-meta', text: meta }) : null));
    });
    renderCorrForm();

    const now = Date.now();
    const coming = f.bookings.filter((b) => b.status === 'booked' && Date.parse(b.end) > now);
    const past = f.bookings.filter((b) => !coming.includes(b)).reverse();
    renderBookings($('bookings-coming'), coming, now);
    renderBookings($('bookings-past'), past, now);
    renderDetaineeForm();
  }

  function renderBookings(list, bookings, now) {
    list.replaceChildren();
    if (!bookings.length) {
      list.append(h('li', { class: 'empty', text: t('desk.bookings.none') }));
      return;
    }
    bookings.forEach((b) => {
      const corr = b.correspondent_name
        ? b.correspondent_name + (b.correspondent_relationship ? ' (' + b.correspondent_relationship + ')' : '')
        : b.correspondent;
      const meta = [t('desk.bookings.with', { name: corr }), b.room];
      if (b.receipt) meta.push(t('desk.bookings.receipt_no', { n: b.receipt }));
      const actions = [];
      if (b.receipt) {
        actions.push(h('a', {
          class: 'btn btn-secondary btn-small',
          href: receiptUrl(b),
          target: '_blank',
          rel: 'noopener',
          'aria-label': t('desk.bookings.receipt.aria', { n: b.receipt }),
        }, t('desk.bookings.receipt')));
      }
      if (b.status === 'booked' && Date.parse(b.start) > now) {
        actions.push(h('button', {
          type: 'button',
          class: 'btn btn-danger btn-small',
          dataset: { cancel: b.id },
          'aria-label': t('desk.bookings.cancel.aria', { when: when(b) }),
          onclick: (event) => openCancel(b, event.currentTarget),
        }, t('desk.bookings.cancel')));
      }
      list.append(h('li', { class: 'booking-item', dataset: { booking: b.id, start: b.start } },
        h('div', { class: 'booking-head' },
          h('span', { class: 'booking-when', text: when(b) }),
          statusBadge('booking.status', b.status)),
        h('p', { class: 'booking-meta', text: meta.join(' · ') }),
        b.status === 'cancelled'
          ? h('p', {
            class: 'booking-meta',
            text: t('desk.bookings.cancelled', { guard: b.cancelled_by || '—', reason: b.cancel_reason || '—' }),
          })
          : (b.booked_by ? h('p', { class: 'booking-meta', text: t('desk.bookings.by', { guard: b.booked_by }) }) : null),
        actions.length ? h('div', { class: 'booking-actions' }, actions) : null));
    });
  }

  /* --- charter signature --- */
  $('sign-charter').addEventListener('click', async () => {
    if (!S.file) return;
    const button = $('sign-charter');
    button.disabled = true;
    const res = await post('/api/desk/detainees/' + encodeURIComponent(S.file.detainee.number) + '/charter', {});
    button.disabled = false;
    if (!res.ok) {
      say($('file-error'), res.data.message);
      return;
    }
    say($('file-status'), () => t('desk.charter.done'));
    await reloadFile();
  });

  /* --- correspondents --- */
  const minorBox = $('corr-minor');
  minorBox.addEventListener('change', () => { $('corr-consent-field').hidden = !minorBox.checked; });

  function editCorrespondent(c) {
    S.editingCorr = c;
    $('corr-name').value = c.name;
    $('corr-phone').value = c.phone;
    $('corr-relationship').value = c.relationship || '';
    $('corr-status').value = c.status;
    $('corr-lawyer').checked = Boolean(c.lawyer);
    minorBox.checked = Boolean(c.minor);
    $('corr-consent').value = c.consent_by || '';
    $('corr-consent-field').hidden = !c.minor;
    say($('corr-error'), '');
    renderCorrForm();
    $('corr-box').open = true;
    $('corr-name').focus();
  }

  function resetCorrForm() {
    S.editingCorr = null;
    $('corr-form').reset();
    $('corr-consent-field').hidden = true;
    ['corr-name', 'corr-phone'].forEach((id) => setInvalid($(id), false));
    say($('corr-error'), '');
    renderCorrForm();
  }

  function renderCorrForm() {
    const c = S.editingCorr;
    say($('corr-form-title'), c ? t('desk.corr.edit', { name: c.name }) : t('desk.corr.add'));
    $('corr-reset').hidden = !c;
  }

  $('corr-reset').addEventListener('click', () => {
    resetCorrForm();
    $('corr-name').focus();
  });

  $('corr-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!S.file) return;
    say($('corr-error'), '');
    if (!checkRequired([$('corr-name'), $('corr-phone')], $('corr-error'))) return;
    const body = {
      name: $('corr-name').value.trim(),
      phone: $('corr-phone').value.trim(),
      relationship: $('corr-relationship').value.trim(),
      status: $('corr-status').value,
      lawyer: $('corr-lawyer').checked,
      minor: minorBox.checked,
      consent_by: minorBox.checked ? $('corr-consent').value.trim() : '',
    };
    const path = S.editingCorr
      ? '/api/desk/correspondents/' + encodeURIComponent(S.editingCorr.id)
      : '/api/desk/detainees/' + encodeURIComponent(S.file.detainee.number) + '/correspondents';
    const button = $('corr-submit');
    button.disabled = true;
    const res = await post(path, body);
    button.disabled = false;
    if (!res.ok) {
      say($('corr-error'), res.data.message);
      if (String(res.data.reason).startsWith('phone')) setInvalid($('corr-phone'), true);
      return;
    }
    say($('corr-status-msg'), () => t('desk.corr.saved', { name: res.data.name }));
    resetCorrForm();
    $('corr-box').open = false;
    await reloadFile();
  });

  /* --- detainee record --- */
  function renderDetaineeForm() {
    const editing = S.editingDetainee && S.file;
    say($('detainee-form-title'), editing
      ? t('desk.detainee.edit', { name: S.file.detainee.full_name })
      : t('desk.detainee.new'));
    say($('d-code-hint'), editing ? t('desk.detainee.code.hint.edit') : t('desk.detainee.code.hint'));
    $('d-number').readOnly = Boolean(editing);
  }

  function fillDetaineeForm(d) {
    $('d-number').value = d ? d.number : '';
    $('d-last').value = d ? d.last_name : '';
    $('d-first').value = d ? d.first_name : '';
    $('d-building').value = d ? d.building : '';
    $('d-floor').value = d ? d.floor : '';
    $('d-cell').value = d ? d.cell : '';
    $('d-code').value = '';
    $('d-status').value = d ? d.status : 'active';
    ['d-number', 'd-last', 'd-first', 'd-code'].forEach((id) => setInvalid($(id), false));
    say($('detainee-error'), '');
  }

  $('edit-detainee').addEventListener('click', () => {
    if (!S.file) return;
    S.editingDetainee = true;
    fillDetaineeForm(S.file.detainee);
    renderDetaineeForm();
    $('detainee-box').open = true;
    $('d-last').focus();
  });

  $('detainee-new').addEventListener('click', () => {
    S.editingDetainee = false;
    fillDetaineeForm(null);
    renderDetaineeForm();
    $('d-number').focus();
  });

  $('detainee-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    say($('detainee-error'), '');
    say($('detainee-status'), '');
    const required = [$('d-number'), $('d-last'), $('d-first')];
    if (!S.editingDetainee) required.push($('d-code'));
    if (!checkRequired(required, $('detainee-error'))) return;
    const body = {
      number: $('d-number').value.trim(),
      last_name: $('d-last').value.trim(),
      first_name: $('d-first').value.trim(),
      building: $('d-building').value.trim(),
      floor: $('d-floor').value.trim(),
      cell: $('d-cell').value.trim(),
      access_code: $('d-code').value.trim(),
      status: $('d-status').value,
    };
    const button = $('detainee-submit');
    button.disabled = true;
    const res = await post('/api/desk/detainees', body);
    button.disabled = false;
    if (!res.ok) {
      say($('detainee-error'), res.data.message);
      const field = String(res.data.reason || '').replace('field.', '');
      const input = { number: 'd-number', access_code: 'd-code', first_name: 'd-first', last_name: 'd-last' }[field];
      if (input) {
        setInvalid($(input), true);
        $(input).focus();
      }
      return;
    }
    const saved = res.data;
    await loadFile(saved.number, false);
    S.editingDetainee = true;
    fillDetaineeForm(saved);
    renderDetaineeForm();
    say($('detainee-status'), () => t('desk.detainee.saved', { name: saved.full_name }));
  });

  /* --- calendar --- */
  async function loadCalendar() {
    if (!S.kiosk || !S.week) return;
    const res = await get('/api/desk/calendar?kiosk=' + encodeURIComponent(S.kiosk) +
      '&from=' + S.week + '&days=7');
    if (!res.ok) {
      say($('calendar-error'), res.data.message);
      return;
    }
    S.cal = res.data;
    renderCalendar();
  }

  function closedText(slot) {
    if (slot.reason === 'too_late' && Date.parse(slot.start) <= Date.now()) return t('desk.cal.closed.past');
    const key = 'desk.cal.closed.' + slot.reason;
    return known(key) ? t(key) : t('desk.cal.closed.other');
  }

  function renderCalendar() {
    const hint = $('calendar-hint');
    say(hint, S.file
      ? t('desk.cal.hint.ready', { name: S.file.detainee.full_name })
      : t('desk.cal.hint.pick'));
    if (!S.cal) return;
    const days = S.cal.days;
    say($('week-label'), days.length
      ? t('desk.cal.week', { from: dayMonth(days[0].date), to: longDay(days[days.length - 1].date) })
      : '');

    const ranges = new Map();
    days.forEach((day) => day.slots.forEach((slot) => ranges.set(range(slot), slot)));
    const rows = Array.from(ranges.keys()).sort();
    if (!rows.length && S.est) {
      S.est.slot_times.forEach((text) => rows.push(text.replace('-', '–')));
    }

    const table = $('calendar');
    const headRow = h('tr', null,
      h('td', { class: 'corner' }, h('span', { class: 'sr-only', text: t('desk.cal.slot') })));
    days.forEach((day) => {
      headRow.append(h('th', {
        scope: 'col',
        class: [day.date === S.today ? 'today' : '', day.closed ? 'closed-col' : ''].join(' ').trim() || null,
        dataset: { date: day.date },
      }, formatDay(day.date, { weekday: 'short' }), h('br'),
      formatDay(day.date, { day: 'numeric', month: 'short' })));
    });
    table.tHead.replaceChildren(headRow);

    const mine = S.file ? S.file.detainee.number : null;
    const body = table.tBodies[0];
    body.replaceChildren();
    rows.forEach((key, index) => {
      const [start, end] = key.split('–');
      const tr = h('tr', null, h('th', { scope: 'row' }, start, h('span', { text: end })));
      days.forEach((day) => {
        if (day.closed) {
          if (index === 0) {
            tr.append(h('td', {
              class: 'day-closed',
              rowspan: rows.length,
              dataset: { date: day.date, state: 'closed', reason: day.closed },
              text: t('desk.cal.day.' + day.closed),
            }));
          }
          return;
        }
        const slot = day.slots.find((s) => range(s) === key);
        if (!slot) {
          tr.append(h('td', { dataset: { date: day.date, state: 'none' } },
            h('span', { class: 'slot slot-closed', text: t('desk.cal.no_slot') })));
          return;
        }
        tr.append(h('td', { dataset: { date: day.date, start: slot.start, state: slot.state } },
          slotContent(slot, day, mine)));
      });
      body.append(tr);
    });
  }

  function slotContent(slot, day, mine) {
    if (slot.state === 'free') {
      return h('button', {
        type: 'button',
        class: 'slot slot-free',
        'aria-label': t('desk.cal.free.aria', { day: dayMonth(day.date), start: hm(slot.start), end: hm(slot.end) }),
        onclick: (event) => openBook(slot, event.currentTarget),
      }, t('desk.cal.free'), h('span', { class: 'slot-free-sub', 'aria-hidden': 'true' }, t('desk.cal.free.sub')));
    }
    if (slot.state === 'booked' && slot.booking) {
      const b = slot.booking;
      const name = b.detainee_name || b.detainee;
      return h('div', { class: 'slot slot-booked' + (b.detainee === mine ? ' mine' : '') },
        h('span', { class: 'slot-label', text: t('desk.cal.booked') }),
        h('button', {
          type: 'button',
          class: 'slot-who',
          title: t('desk.cal.booked.who', { name }),
          onclick: () => loadFile(b.detainee, true),
        }, name),
        h('span', { text: t('desk.search.number', { n: b.detainee }) }),
        b.correspondent_name ? h('span', { text: t('desk.bookings.with', { name: b.correspondent_name }) }) : null);
    }
    return h('span', { class: 'slot slot-closed', text: closedText(slot) });
  }

  function moveWeek(days) {
    S.week = days === 0 ? mondayOf(S.today) : addDays(S.week, days);
    setQuery({ semaine: S.week });
    loadCalendar();
  }

  $('week-prev').addEventListener('click', () => moveWeek(-7));
  $('week-next').addEventListener('click', () => moveWeek(7));
  $('week-today').addEventListener('click', () => moveWeek(0));
  $('kiosk').addEventListener('change', () => {
    S.kiosk = $('kiosk').value;
    setQuery({ borne: S.kiosk });
    loadCalendar();
  });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && !$('book-dialog').open) loadCalendar();
  });

  /* --- booking --- */
  function roomOf(kiosk) {
    const k = S.est && S.est.kiosks.find((item) => item.id === kiosk);
    return k ? k.room : kiosk;
  }

  function bookable(c) {
    return c.status === 'authorised' && (!c.minor || c.parental_consent);
  }

  function openBook(slot, trigger) {
    say($('calendar-error'), '');
    if (!S.file) {
      say($('calendar-error'), () => t('desk.cal.nodetainee'));
      $('search-q').focus();
      return;
    }
    S.slot = slot;
    S.returnFocus = trigger;
    const d = S.file.detainee;
    say($('book-detainee'), () => d.full_name + ' — ' + t('desk.search.number', { n: d.number }));
    say($('book-slot'), when(slot));
    say($('book-room'), roomOf(S.kiosk));
    const select = $('book-correspondent');
    select.replaceChildren();
    const usable = S.file.correspondents.filter(bookable);
    if (usable.length !== 1) {
      select.append(h('option', { value: '' }, usable.length ? t('desk.book.choose') : t('desk.book.none')));
    }
    S.file.correspondents.forEach((c) => {
      const ok = bookable(c);
      const why = c.status !== 'authorised' ? t('corr.status.' + c.status) : t('desk.book.opt.no_consent');
      const label = (c.relationship ? c.name + ' (' + c.relationship + ')' : c.name);
      select.append(h('option', { value: c.id, disabled: !ok },
        ok ? label : t('desk.book.opt.blocked', { name: label, why })));
    });
    if (usable.length === 1) select.value = usable[0].id;
    say($('book-error'), () => usable.length ? '' : t('desk.book.none'));
    $('book-confirm').disabled = false;
    $('book-dialog').showModal();
    (usable.length === 1 ? $('book-confirm') : select).focus();
  }

  function closeDialog(dialog) {
    if (dialog.open) dialog.close();
  }

  [$('book-dialog'), $('cancel-dialog')].forEach((dialog) => {
    dialog.addEventListener('close', () => {
      const target = S.returnFocus;
      S.returnFocus = null;
      if (target && target.isConnected) target.focus();
    });
  });
  $('book-close').addEventListener('click', () => closeDialog($('book-dialog')));
  $('cancel-close').addEventListener('click', () => closeDialog($('cancel-dialog')));

  $('book-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const select = $('book-correspondent');
    if (!select.value) {
      say($('book-error'), () => t('desk.book.choose.missing'));
      select.focus();
      return;
    }
    if (!S.slot || !S.file) return;
    const button = $('book-confirm');
    button.disabled = true;
    say($('book-error'), '');
    const res = await post('/api/desk/bookings', {
      detainee: S.file.detainee.number,
      correspondent: select.value,
      kiosk: S.kiosk,
      start: S.slot.start,
    });
    button.disabled = false;
    if (!res.ok) {
      say($('book-error'), res.data.message);
      if (res.data.reason === 'booking.kiosk_busy') loadCalendar();
      return;
    }
    S.lastBooking = res.data;
    S.returnFocus = null;
    closeDialog($('book-dialog'));
    renderResult();
    const result = $('book-result');
    result.focus();
    await Promise.all([loadCalendar(), reloadFile()]);
  });

  function renderResult() {
    const b = S.lastBooking;
    const box = $('book-result');
    if (!b) {
      box.hidden = true;
      return;
    }
    const corr = S.file && S.file.correspondents.find((c) => c.id === b.correspondent);
    const person = S.file && S.file.detainee.number === b.detainee ? S.file.detainee.full_name : b.detainee;
    say($('book-result-text'), t('desk.book.done', {
      name: person,
      number: b.detainee,
      when: when(b),
      room: b.room,
      corr: corr ? corr.name : b.correspondent,
    }));
    say($('receipt-number'), b.receipt);
    $('receipt-link').href = receiptUrl(b);
    $('result-day-link').href = '/desk/jour?date=' + isoDay(b.start);
    $('result-movements-link').href = '/desk/mouvements?date=' + isoDay(b.start);
    box.hidden = false;
  }

  /* --- cancellation --- */
  function openCancel(b, trigger) {
    S.cancelling = b;
    S.returnFocus = trigger;
    say($('cancel-what'), () => t('desk.cancel.what', {
      name: b.detainee_name || b.detainee,
      when: when(b),
      corr: b.correspondent_name || b.correspondent,
    }));
    $('cancel-reason').value = '';
    setInvalid($('cancel-reason'), false);
    say($('cancel-error'), '');
    $('cancel-confirm').disabled = false;
    $('cancel-dialog').showModal();
    $('cancel-reason').focus();
  }

  $('cancel-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const b = S.cancelling;
    if (!b) return;
    const reasonInput = $('cancel-reason');
    if (!reasonInput.value.trim()) {
      setInvalid(reasonInput, true);
      say($('cancel-error'), () => t('desk.cancel.reason.missing'));
      reasonInput.focus();
      return;
    }
    const button = $('cancel-confirm');
    button.disabled = true;
    const res = await post('/api/desk/bookings/' + encodeURIComponent(b.id) + '/cancel',
      { reason: reasonInput.value.trim() });
    button.disabled = false;
    if (!res.ok) {
      say($('cancel-error'), res.data.message);
      return;
    }
    S.cancelling = null;
    S.returnFocus = null;
    closeDialog($('cancel-dialog'));
    if (S.lastBooking && S.lastBooking.id === b.id) {
      S.lastBooking = null;
      renderResult();
    }
    say($('bookings-status'), () => t('desk.cancel.done', { when: when(b) }));
    await Promise.all([loadCalendar(), reloadFile()]);
    $('bookings-status').focus();
  });

  /* --- start --- */
  renderers.push(() => {
    renderResults();
    renderFile();
    renderCorrForm();
    renderDetaineeForm();
    renderCalendar();
    renderResult();
  });

  (async () => {
    renderCalendar();
    const res = await get('/api/desk/establishment');
    if (!res.ok) {
      say($('calendar-error'), res.data.message);
      return;
    }
    S.est = res.data;
    S.today = isoDay(S.est.now);
    const select = $('kiosk');
    select.replaceChildren(...S.est.kiosks.map((k) =>
      h('option', { value: k.id }, k.room + ' (' + k.id + ')')));
    const wanted = params.get('borne');
    S.kiosk = S.est.kiosks.some((k) => k.id === wanted) ? wanted : (S.est.kiosks[0] || {}).id;
    select.value = S.kiosk;
    const week = params.get('semaine');
    S.week = parseDay(week) ? mondayOf(week) : mondayOf(S.today);
    const number = params.get('numero');
    await Promise.all([loadCalendar(), number ? loadFile(number, false) : null]);
    document.body.dataset.ready = '1';
  })();
}

/* ====================================================== day / movements */

function initDayList(kind) {
  const S = { data: null };
  const params = new URLSearchParams(window.location.search);
  const input = $('date');

  async function load(date) {
    say($('load-error'), '');
    say($('load-status'), t('common.loading'));
    const res = await get('/api/desk/day' + (date ? '?date=' + encodeURIComponent(date) : ''));
    say($('load-status'), '');
    if (!res.ok) {
      say($('load-error'), res.data.message);
      return;
    }
    S.data = res.data;
    input.value = S.data.date;
    setQuery({ date: S.data.date });
    navDate(S.data.date);
    render();
    document.body.dataset.ready = '1';
  }

  function cell(label, content, attrs) {
    return h('td', Object.assign({ 'data-label': label }, attrs || {}), content);
  }

  function renderDay(bookings) {
    const table = $('day-table');
    const body = table.tBodies[0];
    body.replaceChildren();
    bookings.slice().sort((a, b) => a.start.localeCompare(b.start) || natural(a.room, b.room))
      .forEach((b) => {
        body.append(h('tr', { dataset: { booking: b.id, number: b.detainee } },
          h('th', { scope: 'row', class: 'num', 'data-label': t('col.time') }, range(b)),
          cell(t('col.room'), [b.room, h('span', { class: 'sub', text: b.kiosk })]),
          cell(t('col.detainee'), b.detainee_name || '—', { class: 'strong' }),
          cell(t('col.number'), b.detainee, { class: 'num' }),
          cell(t('col.location'), location(b)),
          cell(t('col.correspondent'), [b.correspondent_name || b.correspondent,
            b.correspondent_relationship ? h('span', { class: 'sub', text: b.correspondent_relationship }) : null]),
          cell(t('col.status'), statusBadge('booking.status', b.status)),
          h('td', { class: 'print-col' })));
      });
    table.hidden = !bookings.length;
  }

  function renderMovements(bookings) {
    const table = $('movements-table');
    Array.from(table.tBodies).forEach((tb) => tb.remove());
    const sorted = bookings.slice().sort((a, b) =>
      natural(a.building, b.building) || natural(a.floor, b.floor) ||
      a.start.localeCompare(b.start) || natural(a.cell, b.cell));
    let body = null;
    let current = null;
    sorted.forEach((b) => {
      const building = b.building || '';
      if (body === null || building !== current) {
        current = building;
        body = h('tbody', { dataset: { building } },
          h('tr', { class: 'group' }, h('th', { scope: 'colgroup', colspan: 7 },
            building ? t('movements.building', { b: building }) : t('movements.building.none'))));
        table.append(body);
      }
      body.append(h('tr', { dataset: { booking: b.id, number: b.detainee } },
        cell(t('col.floor'), b.floor || '—', { class: 'num' }),
        cell(t('col.cell'), b.cell || '—', { class: 'num strong' }),
        h('th', { scope: 'row', 'data-label': t('col.detainee') }, b.detainee_name || '—'),
        cell(t('col.number'), b.detainee, { class: 'num' }),
        cell(t('col.in_room'), hm(b.start), { class: 'num strong' }),
        cell(t('col.room'), b.room),
        h('td', { class: 'print-col' })));
    });
    table.hidden = !sorted.length;
  }

  function render() {
    if (!S.data) return;
    const bookings = S.data.bookings || [];
    const n = bookings.length;
    say($('doc-meta'), t(kind + '.meta.' + (n === 1 ? 'one' : 'many'), {
      establishment: S.data.establishment, date: longDay(S.data.date), n,
    }));
    if (kind === 'day') renderDay(bookings);
    else renderMovements(bookings);
    $('empty').hidden = n > 0;
  }

  $('date-form').addEventListener('submit', (event) => {
    event.preventDefault();
    if (!parseDay(input.value)) {
      setInvalid(input, true);
      say($('load-error'), () => t('common.bad_date'));
      input.focus();
      return;
    }
    setInvalid(input, false);
    load(input.value);
  });
  $('day-prev').addEventListener('click', () => { if (S.data) load(addDays(S.data.date, -1)); });
  $('day-next').addEventListener('click', () => { if (S.data) load(addDays(S.data.date, 1)); });
  $('print').addEventListener('click', () => window.print());
  renderers.push(render);
  const wanted = params.get('date');
  load(parseDay(wanted) ? wanted : null);
}

/* ============================================================== charter */

function initCharter() {
  const S = { detainee: null, missing: null };
  const params = new URLSearchParams(window.location.search);
  const input = $('charter-number');

  function render() {
    const d = S.detainee;
    say($('charter-name'), d ? d.full_name : '');
    say($('charter-number-value'), d ? d.number : '');
    say($('charter-location'), d ? (d.location || '') : '');
    const signed = $('charter-signed');
    signed.hidden = !(d && d.charter_signed);
    if (d && d.charter_signed) {
      say(signed, t('charter.signed', {
        date: longDay(isoDay(d.charter_signed_at)), guard: d.charter_signed_by || '—',
      }));
    }
    say($('charter-error'), S.missing ? t('charter.notfound', { n: S.missing }) : '');
  }

  async function load(number) {
    S.detainee = null;
    S.missing = null;
    if (number) {
      const res = await get('/api/desk/detainees/' + encodeURIComponent(number));
      if (res.ok) S.detainee = res.data.detainee;
      else if (res.status === 404) S.missing = number;
      else say($('charter-error'), res.data.message);
    }
    setQuery({ numero: number || null });
    render();
    document.body.dataset.ready = '1';
  }

  $('charter-form').addEventListener('submit', (event) => {
    event.preventDefault();
    load(input.value.trim());
  });
  $('print').addEventListener('click', () => window.print());
  renderers.push(render);

  get('/api/desk/establishment').then((res) => {
    if (res.ok) say($('charter-establishment'), res.data.name);
  });
  const number = (params.get('numero') || '').trim();
  input.value = number;
  load(number);
}

/* =============================================================== import */

function initImport() {
  const S = { checked: null, report: null, mode: null, busy: false };
  const fileInput = $('import-file');

  const kind = () => (document.querySelector('input[name="kind"]:checked') || {}).value || 'detainees';
  const signature = (file) => (file ? [file.name, file.size, file.lastModified].join('|') : '');

  function showColumns() {
    $('columns-detainees').hidden = kind() !== 'detainees';
    $('columns-correspondents').hidden = kind() !== 'correspondents';
  }

  function invalidate() {
    S.checked = null;
    $('do-import').disabled = true;
  }

  document.querySelectorAll('input[name="kind"]').forEach((radio) => {
    radio.addEventListener('change', () => {
      showColumns();
      invalidate();
    });
  });
  fileInput.addEventListener('change', invalidate);

  function sameBytes(a, b) {
    if (a.byteLength !== b.byteLength) return false;
    const x = new Uint8Array(a);
    const y = new Uint8Array(b);
    for (let i = 0; i < x.length; i += 1) if (x[i] !== y[i]) return false;
    return true;
  }

  async function send(dryRun, bytes, what) {
    S.busy = true;
    $('dry-run').disabled = true;
    $('do-import').disabled = true;
    const report = $('report');
    report.hidden = false;
    say($('report-error'), '');
    say($('report-summary'), t(dryRun ? 'import.busy.check' : 'import.busy.import'));
    $('errors-box').hidden = true;
    $('warnings-box').hidden = true;
    const res = await request('POST', '/api/desk/import/' + what + (dryRun ? '?dry_run=1' : ''), undefined,
      { body: bytes, type: 'text/csv' });
    S.busy = false;
    $('dry-run').disabled = false;
    const data = res.data || {};
    const hasReport = typeof data.ok === 'boolean' || Array.isArray(data.errors);
    if (!hasReport) {
      S.report = null;
      say($('report-summary'), '');
      say($('report-error'), data.message || t('common.server_error', { status: res.status }));
      invalidate();
      return;
    }
    S.report = data;
    S.mode = dryRun ? 'dry' : 'import';
    const clean = res.ok && data.ok === true && !(data.errors || []).length;
    if (dryRun && clean) {
      S.checked = { bytes, kind: what, sig: signature(fileInput.files[0]) };
      $('do-import').disabled = false;
    } else {
      invalidate();
    }
    renderReport();
    report.focus();
  }

  function renderReport() {
    const data = S.report;
    if (!data) return;
    const errors = Array.isArray(data.errors) ? data.errors : [];
    const warnings = Array.isArray(data.warnings) ? data.warnings : [];
    const vars = { rows: data.rows != null ? data.rows : '?', imported: data.imported != null ? data.imported : 0, count: errors.length };
    let key;
    if (S.mode === 'dry') key = errors.length || data.ok === false ? 'import.dry.errors' : 'import.dry.ok';
    else key = errors.length || data.ok === false ? 'import.failed' : 'import.done';
    say($('report-summary'), t(key, vars));
    const body = $('errors-table').tBodies[0];
    body.replaceChildren();
    errors.forEach((e) => {
      body.append(h('tr', null,
        h('td', { class: 'num', 'data-label': t('import.col.line') }, e.line != null ? String(e.line) : '—'),
        h('td', { 'data-label': t('import.col.column') }, e.column || '—'),
        h('td', { 'data-label': t('import.col.message') }, e.message || e.reason || ''),
        h('td', { 'data-label': t('import.col.reason') }, h('code', { text: e.reason || '' }))));
    });
    $('errors-box').hidden = !errors.length;
    const list = $('warnings-list');
    list.replaceChildren();
    warnings.forEach((w) => {
      if (typeof w === 'string') {
        list.append(h('li', { text: w }));
        return;
      }
      list.append(h('li', {
        text: t('import.warning.item', {
          line: w.line != null ? w.line : '—',
          column: w.column ? t('import.warning.column', { column: w.column }) : '',
          message: w.message || w.reason || '',
        }),
      }));
    });
    $('warnings-box').hidden = !warnings.length;
  }

  $('import-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    if (S.busy) return;
    const file = fileInput.files[0];
    if (!file) {
      setInvalid(fileInput, true);
      $('report').hidden = false;
      say($('report-summary'), '');
      say($('report-error'), () => t('import.file.missing'));
      fileInput.focus();
      return;
    }
    setInvalid(fileInput, false);
    invalidate();
    await send(true, await file.arrayBuffer(), kind());
  });

  $('do-import').addEventListener('click', async () => {
    if (S.busy || !S.checked) return;
    const file = fileInput.files[0];
    const bytes = file ? await file.arrayBuffer() : null;
    if (!file || signature(file) !== S.checked.sig || kind() !== S.checked.kind ||
        !sameBytes(bytes, S.checked.bytes)) {
      invalidate();
      $('report').hidden = false;
      say($('report-error'), () => t('import.changed'));
      return;
    }
    const checked = S.checked;
    invalidate();
    await send(false, checked.bytes, checked.kind);
  });

  renderers.push(renderReport);
  showColumns();
  document.body.dataset.ready = '1';
}

/* ---------------------------------------------------------------- start */

initLang();
const page = document.body.dataset.page;
if (page === 'desk') initDesk();
else if (page === 'day') initDayList('day');
else if (page === 'movements') initDayList('movements');
else if (page === 'charter') initCharter();
else if (page === 'import') initImport();
