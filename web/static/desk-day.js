/* Parloir — the day planning (/desk/jour) and the movement list (/desk/mouvements), one list of the day's
 * calls; <body data-page> says which.
 * On the desk's shared part (desk-kit.js); no inline code (CSP). */
import {
  $, addDays, get, h, hm, initLang, location, longDay, natural,
  navDate, parseDay, range, renderers, say, setInvalid, setQuery, statusBadge,
  t,
} from './desk-kit.js';

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

initLang();
initDayList(document.body.dataset.page === 'movements' ? 'movements' : 'day');
