// dashboard/www/js/api.js — the page's only way to talk to trackrelay: the
// REST API under /api/v1 (the same routes and rules as every other client)
// plus /session for signing in and out. Sends the session's CSRF token on
// every change and the chosen account as X-MSYS-SUBACCOUNT; turns every
// error answer into an ApiError whose words can be shown as they are.

export class ApiError extends Error {
  constructor(status, message, description, code) {
    super(message);
    this.status = status;
    this.description = description || '';
    this.code = code || '';
  }
}

// Ends `s` with a full stop; capitalises it only when asked (a description
// may start with a domain name, which keeps its case).
function sentence(s, capitalise) {
  s = String(s || '').trim();
  if (!s) return '';
  if (capitalise) s = s.charAt(0).toUpperCase() + s.slice(1);
  return /[.!?]$/.test(s) ? s : s + '.';
}

// "Tracking domain is in use. click.example.com is the tracking domain of …"
export function describe(err) {
  if (!(err instanceof ApiError)) return sentence(err && err.message ? err.message : String(err), true);
  const parts = [sentence(err.message, true)];
  if (err.description) parts.push(sentence(err.description));
  if (err.status) parts.push('(HTTP ' + err.status + ')');
  return parts.join(' ');
}

export class Api {
  // `onSignedOut` runs when an API call answers 401 (the session ended).
  constructor(onSignedOut) {
    this.csrf = '';
    this.scope = '';  // '' = every account the sign-in may see; '0' = primary; 'n' = subaccount n
    this.onSignedOut = onSignedOut;
  }

  async request(method, path, body, scoped = true) {
    const headers = {Accept: 'application/json'};
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = this.csrf;
    if (scoped && this.scope !== '' && path.startsWith('/api/')) {
      headers['X-MSYS-SUBACCOUNT'] = this.scope;
    }
    let res;
    try {
      res = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'same-origin',
        cache: 'no-store',
      });
    } catch (e) {
      throw new ApiError(0, 'Cannot reach trackrelay',
                         'the request got no answer (' + e.message +
                             '); check that trackrelay serve is running');
    }
    const text = await res.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch (e) {
        data = null;
      }
    }
    if (!res.ok) {
      const first = (data && Array.isArray(data.errors) && data.errors[0]) || {};
      const err = new ApiError(res.status, first.message || res.statusText || 'Request failed',
                               first.description ||
                                   (data ? '' : 'the server answered without details'),
                               first.code);
      if (res.status === 401 && path.startsWith('/api/') && this.onSignedOut) {
        this.onSignedOut(err);
      }
      throw err;
    }
    return data;
  }

  // The `results` of a successful API answer.
  async results(method, path, body, scoped = true) {
    const data = await this.request(method, path, body, scoped);
    return data ? data.results : null;
  }

  get(path) { return this.results('GET', '/api/v1' + path); }
  post(path, body) { return this.results('POST', '/api/v1' + path, body === undefined ? {} : body); }
  put(path, body) { return this.results('PUT', '/api/v1' + path, body); }
  del(path) { return this.results('DELETE', '/api/v1' + path); }
  // A GET without the account switcher's scope (e.g. the list of subaccounts).
  getUnscoped(path) { return this.results('GET', '/api/v1' + path, undefined, false); }
}

export function enc(s) {
  return encodeURIComponent(s);
}
