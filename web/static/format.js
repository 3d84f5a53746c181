/* Parloir — numbers, money, dates and durations as written in the page's language (ES module).
 * Money is integer cents throughout: no float ever holds an amount. */

export const locale = (lang) => (lang === 'en' ? 'en-GB' : 'fr-FR');

/** Intl date/time text in lang, in timeZone when given (the establishment's), else the
 *  browser's; a zone the browser does not know falls back to the browser's. */
export function dateTime(lang, ms, options, timeZone) {
  const opts = Object.assign({}, options);
  if (timeZone) opts.timeZone = timeZone;
  try {
    return new Intl.DateTimeFormat(locale(lang), opts).format(new Date(ms));
  } catch (e) {
    delete opts.timeZone;
    return new Intl.DateTimeFormat(locale(lang), opts).format(new Date(ms));
  }
}

/** Now in timeZone (the establishment's when given, else the browser's):
 *  {day: 'YYYY-MM-DD', iso: 'YYYY-MM-DDTHH:MM'}, the day a server counts in that zone. */
export function zonedNow(timeZone) {
  const parts = {};
  try {
    new Intl.DateTimeFormat('en-CA', {
      timeZone: timeZone || undefined, year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
    }).formatToParts(new Date()).forEach((p) => { parts[p.type] = p.value; });
  } catch (e) { // a zone this browser does not know: its own clock
    const d = new Date();
    const pad = (n) => String(n).padStart(2, '0');
    Object.assign(parts, { year: String(d.getFullYear()), month: pad(d.getMonth() + 1),
      day: pad(d.getDate()), hour: pad(d.getHours()), minute: pad(d.getMinutes()) });
  }
  const day = parts.year + '-' + parts.month + '-' + parts.day;
  return { day, iso: day + 'T' + parts.hour + ':' + parts.minute };
}

function group(digits, sep) { return digits.replace(/\B(?=(\d{3})+$)/g, sep); }

/** Integer cents -> "1 234,56 €" (fr) or "€1,234.56" (en); `signed` writes a "+" too. */
export function money(lang, cents, signed) {
  const value = Math.trunc(Number(cents) || 0);
  const abs = Math.abs(value);
  const units = String(Math.floor(abs / 100));
  const rest = String(abs % 100).padStart(2, '0');
  const sign = value < 0 ? '-' : (signed && value > 0 ? '+' : '');
  if (lang === 'en') return sign + '€' + group(units, ',') + '.' + rest;
  return sign + group(units, '\u202f') + ',' + rest + '\u00a0€';
}

/** A count-down or a length of time: "mm:ss", "h:mm:ss" from an hour on. */
export function clock(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = String(Math.floor((total % 3600) / 60)).padStart(2, '0');
  const secs = String(total % 60).padStart(2, '0');
  return (hours ? hours + ':' : '') + minutes + ':' + secs;
}

/* Calendar days ("YYYY-MM-DD", the establishment's, as the API writes them): computed in UTC
 * so that the browser's own time zone never shifts a day. */

export function parseDay(text) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text || '');
  if (!m) return null;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return Number.isNaN(d.getTime()) ? null : d;
}

export function dayString(d) { return d.toISOString().slice(0, 10); }

export function addDays(text, n) {
  const d = parseDay(text);
  d.setUTCDate(d.getUTCDate() + n);
  return dayString(d);
}

export function mondayOf(text) {
  const d = parseDay(text);
  d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
  return dayString(d);
}

/** A calendar day written in lang with Intl's options ("lundi 7 décembre 2026"). */
export function calendarDay(lang, text, options) {
  const d = parseDay(text);
  if (!d) return text || '';
  return new Intl.DateTimeFormat(locale(lang), Object.assign({ timeZone: 'UTC' }, options)).format(d);
}

/** "2026-12-07…" -> "07/12/2026", in both languages (tables, printed sheets). */
export function numericDay(iso) {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso || '');
  return m ? m[3] + '/' + m[2] + '/' + m[1] : (iso || '');
}
