/* Parloir — the charter's signature (/desk/charte).
 * On the desk's shared part (desk-kit.js); no inline code (CSP). */
import {
  $, get, initLang, isoDay, location, longDay, renderers, say, setQuery,
  t,
} from './desk-kit.js';

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

initLang();
initCharter();
