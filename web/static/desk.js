/* Parloir — the desk's files and bookings (/desk): search, a person's file, booking a slot, cancelling, receipts.
 * On the desk's shared part (desk-kit.js); no inline code (CSP). */
import {
  $, addDays, badge, checkRequired, dayMonth, euros, formatDay, get, h,
  hm, initLang, isoDay, known, location, longDay, mondayOf, parseDay,
  post, range, receiptUrl, renderers, say, setInvalid, setQuery, statusBadge,
  t, when,
} from './desk-kit.js';

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

initLang();
initDesk();
