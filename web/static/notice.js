/* Parloir — the information notice: both languages are in the page, the toggle shows one. */
import { Parloir as P } from './call.js';

function show() {
  document.querySelectorAll('[data-notice-lang]').forEach((el) => {
    el.hidden = el.dataset.noticeLang !== P.lang;
  });
  document.title = 'Parloir — ' + (P.lang === 'en' ? 'Your data and your rights' : 'Vos données et vos droits');
}
document.addEventListener('parloir:lang', show);
P.initLangToggle();
show();
