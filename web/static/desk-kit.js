/* Parloir — what the five /desk pages share (ES module): the desk's texts, the kit, the JSON
 * requests and the day/money formats. Each page has its own module: desk.js (files and
 * bookings), desk-day.js (day planning and movement list, <body data-page> says which),
 * desk-charter.js, desk-import.js. No build step,
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
import { money, calendarDay, parseDay, addDays, mondayOf } from './format.js';

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

const formatDay = (text, options) => calendarDay(kit.lang, text, options);
const longDay = (text) => formatDay(text, { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });
const dayMonth = (text) => formatDay(text, { weekday: 'long', day: 'numeric', month: 'long' });
const isoDay = (iso) => String(iso || '').slice(0, 10);
const hm = (iso) => String(iso || '').slice(11, 16);
const range = (item) => hm(item.start) + '–' + hm(item.end);
const when = (item) => longDay(isoDay(item.start)) + ', ' + range(item);

/** "12,34 €" (fr) or "€12.34" (en), from cents. */
const euros = (cents) => money(kit.lang, cents);

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

export {
  $, addDays, badge, checkRequired, dayMonth, euros, formatDay, get, h,
  hm, initLang, isoDay, kit, known, location, longDay, mondayOf, natural,
  navDate, parseDay, post, range, receiptUrl, renderers, request, say,
  setInvalid, setQuery, statusBadge, t, when,
};
