/* Parloir — the signed-in staff member (ES module), asked once per page from /api/staff/me.
 *  - without a session, the page goes to /connexion (and comes back here after signing in);
 *  - api.js then sends the session's CSRF token with every state-changing request, and a 401
 *    "staff.login_required" (the session is over) goes to /connexion the same way.
 * staffSession() resolves with the member ({login, name, roles, permissions, pages, csrf, ...});
 * staff-kit.js renders the navigation and the session box from it.
 */
import { request, setSession } from './api.js';

function toLogin() {
  const back = window.location.pathname + window.location.search;
  window.location.assign('/connexion?suite=' + encodeURIComponent(back));
}

let asked = null;

export function staffSession() {
  if (!asked) {
    asked = request('GET', '/api/staff/me').then((res) => {
      if (res.status === 401) {
        toLogin();
        return new Promise(() => {}); // the page is leaving
      }
      if (!res.ok) throw new Error('staff session: ' + res.status);
      setSession(res.data.csrf, toLogin);
      return res.data;
    });
  }
  return asked;
}

/** Who is signed in, without the trip to /connexion (the sign-in page): null if nobody. */
export async function signedInMember() {
  const res = await request('GET', '/api/staff/me');
  return res.ok ? res.data : null;
}
