/* Parloir — the CSV import of people and authorisations (/desk/import).
 * On the desk's shared part (desk-kit.js); no inline code (CSP). */
import {
  $, h, initLang, renderers, request, say, setInvalid, t,
} from './desk-kit.js';

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

initLang();
initImport();
