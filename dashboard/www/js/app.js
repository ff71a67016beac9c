// dashboard/www/js/app.js — the dashboard's entry point: sign-in and
// sign-out (/session), the account switcher (shown when subaccounts exist),
// and the hash router that renders one page into <main>. Pages are modules
// exporting render(main, ctx); ctx carries the API client, who is signed in,
// the subaccounts and the CNAME target.

import {Api, describe} from './api.js';
import {h, clear, errorBox} from './ui.js';
import * as tracking from './tracking.js';
import * as sending from './sending.js';
import * as engagement from './engagement.js';
import * as keys from './keys.js';
import * as subaccounts from './subaccounts.js';
import * as webhooks from './webhooks.js';

const PAGES = {
  'tracking-domains': tracking,
  'sending-domains': sending,
  'engagement': engagement,
  'api-keys': keys,
  'subaccounts': subaccounts,
  'webhooks': webhooks,
};
const SCOPE_KEY = 'trackrelay.scope';

const $ = (id) => document.getElementById(id);

class App {
  constructor() {
    this.api = new Api(() => this.signedOut('Your session has ended. Sign in again.'));
    this.me = null;
    this.subaccounts = [];
    this.rendering = 0;
  }

  async start() {
    $('signin-form').addEventListener('submit', (ev) => this.signIn(ev));
    for (const r of document.querySelectorAll('input[name=method]')) {
      r.addEventListener('change', () => this.showMethod());
    }
    $('signout').addEventListener('click', () => this.signOut());
    $('account').addEventListener('change', () => this.switchAccount());
    window.addEventListener('hashchange', () => this.render());
    let me;
    try {
      me = await this.api.results('GET', '/session');
    } catch (e) {
      this.showSignIn(me, describe(e));
      return;
    }
    if (me.signed_in) await this.enter(me); else this.showSignIn(me);
  }

  showSignIn(me, message) {
    this.me = null;
    $('shell').hidden = true;
    $('signin').hidden = false;
    $('signin-method').hidden = !(me && me.password_sign_in);
    this.showMethod();
    const err = $('signin-error');
    err.hidden = !message;
    err.textContent = message || '';
    (me && me.password_sign_in && this.method() === 'password' ? $('signin-password')
                                                              : $('signin-key')).focus();
  }

  method() {
    const r = document.querySelector('input[name=method]:checked');
    return r ? r.value : 'key';
  }

  showMethod() {
    const pw = this.method() === 'password' && !$('signin-method').hidden;
    $('key-field').hidden = pw;
    $('password-field').hidden = !pw;
  }

  async signIn(ev) {
    ev.preventDefault();
    const pw = this.method() === 'password' && !$('signin-method').hidden;
    const body = pw ? {password: $('signin-password').value} : {api_key: $('signin-key').value.trim()};
    const err = $('signin-error');
    const button = ev.target.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      const me = await this.api.results('POST', '/session', body);
      $('signin-key').value = '';
      $('signin-password').value = '';
      err.hidden = true;
      await this.enter(me);
    } catch (e) {
      err.textContent = describe(e);
      err.hidden = false;
    } finally {
      button.disabled = false;
    }
  }

  async signOut() {
    try {
      await this.api.request('DELETE', '/session');
    } catch (e) {
      // Signed out on this side anyway.
    }
    this.api.csrf = '';
    sessionStorage.removeItem(SCOPE_KEY);
    this.showSignIn({password_sign_in: this.me && this.me.password_sign_in},
                    'You are signed out.');
    $('signin-error').className = 'alert info';
  }

  signedOut(message) {
    if (!this.me) return;
    const pw = this.me.password_sign_in;
    this.api.csrf = '';
    this.showSignIn({password_sign_in: pw}, message);
  }

  async enter(me) {
    this.me = me;
    this.api.csrf = me.csrf_token;
    $('signin-error').className = 'alert';
    $('who').textContent = me.admin ? 'Signed in as admin'
        : 'Key ' + (me.key_prefix || '') + '…' + (me.label ? ' (' + me.label + ')' : '');
    $('signin').hidden = true;
    $('shell').hidden = false;
    $('nav-subaccounts').hidden = me.subaccount_id !== 0;
    await this.loadAccounts();
    if (!location.hash || !PAGES[location.hash.replace(/^#\//, '')]) {
      location.hash = '#/tracking-domains';  // renders through hashchange
      return;
    }
    await this.render();
  }

  // The switcher: only a primary sign-in sees subaccounts.
  async loadAccounts() {
    this.subaccounts = [];
    const sel = clear($('account'));
    if (this.me.subaccount_id === 0) {
      try {
        this.subaccounts = (await this.api.getUnscoped('/subaccounts')) || [];
      } catch (e) {
        this.subaccounts = [];
      }
    }
    $('account-wrap').hidden = this.subaccounts.length === 0;
    if (this.subaccounts.length === 0) {
      this.api.scope = '';
      return;
    }
    sel.append(h('option', {value: '', text: 'All accounts'}),
               h('option', {value: '0', text: 'Primary account'}));
    for (const s of this.subaccounts) {
      sel.append(h('option', {value: String(s.id), text: s.name + ' (subaccount ' + s.id + ')'}));
    }
    const saved = sessionStorage.getItem(SCOPE_KEY) || '';
    sel.value = [...sel.options].some((o) => o.value === saved) ? saved : '';
    this.api.scope = sel.value;
  }

  switchAccount() {
    this.api.scope = $('account').value;
    sessionStorage.setItem(SCOPE_KEY, this.api.scope);
    this.render();
  }

  // The account new resources are created in: the chosen one, else the key's own.
  account() {
    if (this.api.scope !== '') return Number(this.api.scope);
    return this.me ? this.me.subaccount_id || 0 : 0;
  }

  async render() {
    if (!this.me) return;
    const name = location.hash.replace(/^#\//, '').split('?')[0];
    const page = PAGES[name] || tracking;
    for (const a of document.querySelectorAll('.nav a')) {
      if (a.dataset.page === name) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    const main = clear($('main'));
    const ticket = ++this.rendering;
    const ctx = {
      api: this.api,
      me: this.me,
      subaccounts: this.subaccounts,
      account: () => this.account(),
      scope: () => this.api.scope,
      current: () => ticket === this.rendering,
      refresh: () => this.render(),
      reloadAccounts: () => this.loadAccounts(),
    };
    try {
      await page.render(main, ctx);
    } catch (e) {
      if (ticket === this.rendering) main.append(errorBox(e));
    }
    if (ticket === this.rendering) {
      document.title = (main.querySelector('h1') || {}).textContent + ' · trackrelay';
    }
  }
}

new App().start();
