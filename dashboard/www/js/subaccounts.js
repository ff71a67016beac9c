// dashboard/www/js/subaccounts.js — Account → Subaccounts (a primary
// sign-in only): list (id, name, status, created), create (with its first
// API key by default, shown once), rename, suspend / reactivate, and
// terminate (final, with confirmation). After a change the account
// switcher is reloaded (ctx.reloadAccounts).

import {enc} from './api.js';
import {h, clear, errorBox, showError, toast, copyable, modal, formDialog, confirmDialog, field,
        checkbox, table, fmtTime, badge, pageHead} from './ui.js';

const STATUS_BADGE = {active: 'verified', suspended: 'pending', terminated: 'invalid'};

export async function render(main, ctx) {
  const err = errorBox(null);
  main.append(...pageHead('Subaccounts',
                          'A subaccount has its own tracking and sending domains, API keys and ' +
                              'events; its mail uses its own default tracking domain, never the ' +
                              'primary account\'s. Suspending one stops its keys and its domains; ' +
                              'terminating is final.',
                          h('button', {type: 'button', class: 'primary',
                                       onclick: () => create(ctx)}, 'New Subaccount')),
              err);
  const list = h('div');
  main.append(list);
  if (ctx.me.subaccount_id !== 0) {
    list.append(h('div', {class: 'card empty',
                          text: 'Only a primary account key manages subaccounts.'}));
    return;
  }
  let rows;
  try {
    rows = await ctx.api.getUnscoped('/subaccounts');
  } catch (e) {
    showError(err, e);
    return;
  }
  if (!ctx.current()) return;
  clear(list);
  if (rows.length === 0) {
    list.append(h('div', {class: 'card empty', text: 'No subaccounts yet.'}));
    return;
  }
  const columns = [{label: 'ID', num: true}, {label: 'Name'}, {label: 'Status'},
                   {label: 'Created'}, {label: 'Actions'}];
  list.append(table('Subaccounts', columns, rows.map((s) => [
    h('span', {text: String(s.id)}),
    h('span', {class: 'domain', text: s.name}),
    badge(STATUS_BADGE[s.status] || 'neutral', s.status),
    h('span', {text: fmtTime(s.created)}),
    actions(ctx, s),
  ])));
}

function actions(ctx, s) {
  const box = h('div', {class: 'actions'});
  if (s.status === 'terminated') return box;
  const button = (text, label, cls, onclick) =>
    h('button', {type: 'button', class: 'small' + (cls ? ' ' + cls : ''), 'aria-label': label,
                 onclick}, text);
  box.append(button('Rename', 'Rename ' + s.name, '', () => rename(ctx, s)));
  if (s.status === 'active') {
    box.append(button('Suspend', 'Suspend ' + s.name, '', () => setStatus(ctx, s, 'suspended')));
  } else {
    box.append(button('Reactivate', 'Reactivate ' + s.name, '', () => setStatus(ctx, s, 'active')));
  }
  box.append(button('Terminate', 'Terminate ' + s.name, 'danger',
                    () => setStatus(ctx, s, 'terminated')));
  return box;
}

async function changed(ctx, text) {
  toast(text);
  await ctx.reloadAccounts();
  await ctx.refresh();
}

async function create(ctx) {
  const name = h('input', {type: 'text', name: 'name', autocomplete: 'off',
                           placeholder: 'e.g. Acme Ltd'});
  const withKey = checkbox('Create its first API key', 'setup_api_key', true);
  const label = h('input', {type: 'text', name: 'key_label', autocomplete: 'off',
                            placeholder: 'e.g. Acme newsletter app'});
  const fields = [field('Name', name), withKey,
                  field('Key Label', label, 'What the key is for; it can inject mail ' +
                                                '(SMTP_Injection) and manage the subaccount\'s ' +
                                                'domains and events.')];
  const created = await formDialog('New Subaccount', fields, 'Create', async () => {
    const body = {name: name.value.trim(),
                  setup_api_key: withKey.querySelector('input').checked};
    if (body.setup_api_key && label.value.trim()) body.key_label = label.value.trim();
    return ctx.api.results('POST', '/api/v1/subaccounts', body, false);
  });
  if (!created) return;
  await changed(ctx, 'Subaccount ' + created.subaccount_id + ' created');
  if (!created.key) return;
  await modal('API key of subaccount ' + created.subaccount_id, (close) => [
    h('p', {}, h('strong', {text: 'Copy it now: it will not be shown again.'})),
    copyable(created.key, 'Copy the new API key'),
    h('dl', {class: 'facts'},
      h('dt', {text: 'Label'}), h('dd', {text: created.label}),
      h('dt', {text: 'Subaccount'}), h('dd', {text: created.name + ' (' + created.subaccount_id + ')'})),
    h('div', {class: 'buttons'},
      h('button', {type: 'button', class: 'primary', onclick: () => close()}, 'I have copied it')),
  ]);
}

async function rename(ctx, s) {
  const name = h('input', {type: 'text', name: 'name', autocomplete: 'off', value: s.name});
  const done = await formDialog('Rename ' + s.name, [field('Name', name)], 'Save', async () => {
    await ctx.api.results('PUT', '/api/v1/subaccounts/' + enc(s.id), {name: name.value.trim()},
                          false);
  });
  if (done) await changed(ctx, 'Renamed');
}

const CONSEQUENCE = {
  suspended: 'Its API keys stop working (SMTP and API) and its domains stop applying to mail ' +
                 'until it is reactivated.',
  active: 'Its API keys and domains work again.',
  terminated: 'Its API keys and domains stop for good: a terminated subaccount cannot be ' +
                  'reactivated. Its events are kept.',
};
const VERB = {suspended: 'Suspend', active: 'Reactivate', terminated: 'Terminate'};

async function setStatus(ctx, s, status) {
  const done = await confirmDialog(VERB[status] + ' ' + s.name + '?', CONSEQUENCE[status],
                                   VERB[status], async () => {
    await ctx.api.results('PUT', '/api/v1/subaccounts/' + enc(s.id), {status}, false);
  });
  if (done) await changed(ctx, s.name + ': ' + status);
}
