// Parloir's pages must work on the phones families have: no browser API that recent Safari on
// iPhone or Chrome on older Android lacks (eslint-plugin-compat against package.json's
// browserslist). Only that, and plain mistakes: no style rules.
// Every page script is an ES module (<script type="module">, no build step): the shared layer
// (lang, api, dom, format, rtc, session, staff-kit, call) and one module per page. The service
// worker alone is a classic script.
const compat = require('eslint-plugin-compat');
const globals = require('globals');

module.exports = [
  {
    files: ['web/static/**/*.js'],
    languageOptions: {
      ecmaVersion: 2020,
      sourceType: 'module',
      globals: { ...globals.browser },
    },
    plugins: { compat },
    rules: {
      'compat/compat': 'error',
      'no-undef': 'error',
    },
  },
  {
    files: ['web/static/sw.js'],
    languageOptions: { sourceType: 'script', globals: { ...globals.serviceworker } },
  },
];
