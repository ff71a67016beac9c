// dashboard/www/js/keys.js — Account → API Keys: create (the key is shown
// once, with a Copy button), list (label, prefix, account, created; never
// the key), revoke (with confirmation).

import {enc} from './api.js';
import {h, clear, errorBox, showError, toast, copyable, modal, formDialog, confirmDialog, field,
        select, table, fmtTime, accountName, pageHead} from './ui.js';

export async function render(main, ctx) {
  const err = errorBox(null);
  main.append(...pageHead('API Keys',
                          'Keys authenticate scripts and SparkPost clients against /api/v1, and ' +
                              'sign in to this dashboard. A key is shown once, when it is created; ' +
                              'trackrelay keeps only its hash.',
                          h('button', {type: 'button', class: 'primary',
                                       onclick: () => create(ctx)}, 'Create API Key')),
              err);
  const list = h('div');
  main.append(list);
  let rows;
  try {
    rows = await ctx.api.get('/api-keys');
  } catch (e) {
    showError(err, e);
    return;
  }
  if (!ctx.current()) return;
  clear(list);
  if (rows.length === 0) {
    list.append(h('div', {class: 'card empty', text: 'No API keys in this account.'}));
    return;
  }
  const columns = [{label: 'Label'}, {label: 'Key'}, {label: 'Account'}, {label: 'Created'},
                   {label: 'Actions'}];
  list.append(table('API keys', columns, rows.map((k) => [
    h('span', {class: 'domain', text: k.label || '(no label)'}),
    h('span', {class: 'mono', text: k.prefix + '…'}),
    h('span', {text: accountName(k.subaccount_id, ctx.subaccounts)}),
    h('span', {text: fmtTime(k.created)}),
    h('div', {class: 'actions'},
      h('button', {type: 'button', class: 'small danger',
                   'aria-label': 'Revoke key ' + (k.label || k.prefix),
                   onclick: () => revoke(ctx, k)}, 'Revoke')),
  ])));
}

async function create(ctx) {
  const label = h('input', {type: 'text', name: 'label', autocomplete: 'off',
                            placeholder: 'e.g. newsletter app'});
  const fields = [field('Label', label, 'What the key is for; shown in this list.')];
  let account = null;
  if (ctx.me.subaccount_id === 0 && ctx.subaccounts.length) {
    const opts = [['0', 'Primary account']].concat(
        ctx.subaccounts.map((s) => [String(s.id), s.name + ' (subaccount ' + s.id + ')']));
    account = select('subaccount_id', opts, String(ctx.account()));
    fields.push(field('Account', account, 'A subaccount key sees only its own domains and events.'));
  }
  const key = await formDialog('Create API Key', fields, 'Create', async () => {
    const body = {label: label.value.trim()};
    if (account) body.subaccount_id = Number(account.value);
    return ctx.api.results('POST', '/api/v1/api-keys', body, account === null);
  });
  if (!key) return;
  await ctx.refresh();
  await modal('Your new API key', (close) => [
    h('p', {}, h('strong', {text: 'Copy it now: it will not be shown again.'})),
    copyable(key.key, 'Copy the new API key'),
    h('dl', {class: 'facts'},
      h('dt', {text: 'Label'}), h('dd', {text: key.label || '(no label)'}),
      h('dt', {text: 'Account'}), h('dd', {text: accountName(key.subaccount_id, ctx.subaccounts)})),
    h('div', {class: 'buttons'},
      h('button', {type: 'button', class: 'primary', onclick: () => close()}, 'I have copied it')),
  ]);
}

async function revoke(ctx, k) {
  const own = !ctx.me.admin && ctx.me.key_prefix === k.prefix;
  const done = await confirmDialog('Revoke ' + (k.label || k.prefix + '…') + '?',
                                   'Programs using this key get 401 from now on.' +
                                       (own ? ' This is the key you signed in with: you will be signed out.' : ''),
                                   'Revoke', async () => { await ctx.api.del('/api-keys/' + enc(k.id)); });
  if (!done) return;
  toast('Revoked');
  await ctx.refresh();
}
