// Parloir's pages must work on the phones families have: no browser API that recent Safari on
// iPhone or Chrome on older Android lacks (eslint-plugin-compat against package.json's
// browserslist). Only that, and plain mistakes: no style rules.
const compat = require('eslint-plugin-compat');
const globals = require('globals');

module.exports = [
  {
    files: ['web/static/**/*.js'],
    languageOptions: {
      ecmaVersion: 2020,
      sourceType: 'script',
      globals: { ...globals.browser, ...globals.serviceworker },
    },
    plugins: { compat },
    rules: {
      'compat/compat': 'error',
      'no-undef': 'error',
    },
  },
  {
    // The staff pages' ES modules (<script type="module">, no build step): the shared kit and
    // one module per page. The relative's and the kiosk's pages are classic scripts.
    files: ['web/static/staff-kit.js', 'web/static/audit.js', 'web/static/admin.js',
      'web/static/direction.js', 'web/static/recordings.js', 'web/static/monitor.js',
      'web/static/regie.js', 'web/static/desk.js', 'web/static/login.js'],
    languageOptions: { sourceType: 'module' },
  },
];
