// dashboard/www/js/webhooks.js — Account → Webhooks: create (the signing
// secret is shown once, with a Copy button), list (target, events, state,
// last success and failure), Test (POST /webhooks/{id}/validate: the
// receiver's status and body), pause/resume, delete, and the recent
// delivery attempts of a webhook (batch-status), failures first in view.

import {enc} from './api.js';
import {h, clear, badge, errorBox, showError, toast, copyable, modal, formDialog, confirmDialog,
        field, checkbox, select, table, fmtTime, accountName, pageHead} from './ui.js';

const EVENT_TYPES = ['click', 'open', 'initial_open', 'injection'];

export async function render(main, ctx) {
  const err = errorBox(null);
  main.append(...pageHead('Webhooks',
                          'Webhooks push clicks, opens and injections to your HTTP(S) endpoint in ' +
                              'signed batches, retried for 8 hours until your endpoint answers 2xx. ' +
                              'Each request carries X-Trackrelay-Signature (docs/webhooks.md).',
                          h('button', {type: 'button', class: 'primary',
                                       onclick: () => create(ctx)}, 'Create Webhook')),
              err);
  const list = h('div');
  const batches = h('section', {class: 'batches', 'aria-live': 'polite'});
  main.append(list, batches);
  let rows;
  try {
    rows = await ctx.api.get('/webhooks');
  } catch (e) {
    showError(err, e);
    return;
  }
  if (!ctx.current()) return;
  clear(list);
  if (rows.length === 0) {
    list.append(h('div', {class: 'card empty', text: 'No webhooks in this account.'}));
    return;
  }
  const columns = [{label: 'Name'}, {label: 'Target'}, {label: 'Events'}, {label: 'State'},
                   {label: 'Last success'}, {label: 'Last failure'}, {label: 'Actions'}];
  list.append(table('Webhooks', columns, rows.map((w) => [
    h('span', {class: 'domain', text: w.name}),
    h('span', {class: 'mono', text: w.target}),
    h('span', {text: w.events.join(', ')}),
    w.active ? badge('verified', 'active') : badge('pending', 'paused'),
    h('span', {text: fmtTime(w.last_successful) || '—'}),
    h('span', {text: fmtTime(w.last_failure) || '—'}),
    h('div', {class: 'actions'},
      h('button', {type: 'button', class: 'small', 'aria-label': 'Test webhook ' + w.name,
                   onclick: () => test(ctx, w)}, 'Test'),
      h('button', {type: 'button', class: 'small', 'aria-label': 'Recent batches of ' + w.name,
                   onclick: () => showBatches(ctx, w, batches)}, 'Batches'),
      h('button', {type: 'button', class: 'small',
                   'aria-label': (w.active ? 'Pause webhook ' : 'Resume webhook ') + w.name,
                   onclick: () => toggle(ctx, w)}, w.active ? 'Pause' : 'Resume'),
      h('button', {type: 'button', class: 'small danger', 'aria-label': 'Delete webhook ' + w.name,
                   onclick: () => remove(ctx, w)}, 'Delete')),
  ])));
}

async function create(ctx) {
  const name = h('input', {type: 'text', name: 'name', autocomplete: 'off',
                           placeholder: 'e.g. CRM engagement feed'});
  const target = h('input', {type: 'url', name: 'target', autocomplete: 'off',
                             placeholder: 'https://hooks.example.com/trackrelay'});
  const boxes = EVENT_TYPES.map((t) => checkbox(t, 'event-' + t, t !== 'injection'));
  const auth = select('auth_type', [['none', 'None'], ['basic', 'Basic (user name and password)']],
                      'none');
  const user = h('input', {type: 'text', name: 'username', autocomplete: 'off'});
  const pass = h('input', {type: 'password', name: 'password', autocomplete: 'new-password'});
  const creds = h('div', {hidden: true}, field('User name', user), field('Password', pass));
  auth.addEventListener('change', () => { creds.hidden = auth.value !== 'basic'; });
  const fields = [
    field('Name', name),
    field('Target URL', target, 'Must reach a public address (http or https).'),
    h('fieldset', {class: 'method'}, h('legend', {text: 'Events'}), boxes),
    field('Authentication', auth), creds,
  ];
  const made = await formDialog('Create Webhook', fields, 'Create', async () => {
    const body = {
      name: name.value.trim(),
      target: target.value.trim(),
      events: EVENT_TYPES.filter((t, i) => boxes[i].querySelector('input').checked),
      auth_type: auth.value,
    };
    if (auth.value === 'basic') body.auth_credentials = {username: user.value, password: pass.value};
    return ctx.api.post('/webhooks', body);
  });
  if (!made) return;
  await ctx.refresh();
  await modal('Your webhook signing secret', (close) => [
    h('p', {}, h('strong', {text: 'Copy it now: it will not be shown again.'})),
    h('p', {text: 'Your endpoint uses it to verify X-Trackrelay-Signature on every request.'}),
    copyable(made.signing_secret, 'Copy the signing secret'),
    h('dl', {class: 'facts'},
      h('dt', {text: 'Webhook'}), h('dd', {text: made.name}),
      h('dt', {text: 'Account'}), h('dd', {text: accountName(ctx.account(), ctx.subaccounts)})),
    h('div', {class: 'buttons'},
      h('button', {type: 'button', class: 'primary', onclick: () => close()}, 'I have copied it')),
  ]);
}

async function test(ctx, w) {
  let res;
  try {
    res = await ctx.api.post('/webhooks/' + enc(w.id) + '/validate', {});
  } catch (e) {
    const box = errorBox(e);
    await modal('Test ' + w.name, (close) => [box, h('div', {class: 'buttons'},
      h('button', {type: 'button', class: 'primary', onclick: () => close()}, 'Close'))]);
    return;
  }
  const ok = res.msg.includes('succeeded');
  await modal('Test ' + w.name, (close) => [
    h('p', {}, ok ? badge('verified', 'delivered') : badge('invalid', 'failed'), ' ', res.msg),
    h('dl', {class: 'facts'},
      h('dt', {text: 'Status'}), h('dd', {text: String(res.response.status || 'no answer')}),
      h('dt', {text: 'Body'}), h('dd', {}, h('code', {class: 'mono', text: res.response.body}))),
    h('div', {class: 'buttons'},
      h('button', {type: 'button', class: 'primary', onclick: () => close()}, 'Close')),
  ]);
}

async function showBatches(ctx, w, section) {
  clear(section);
  section.append(h('h2', {text: 'Recent batches of ' + w.name}));
  let rows;
  try {
    rows = await ctx.api.get('/webhooks/' + enc(w.id) + '/batch-status?limit=50');
  } catch (e) {
    section.append(errorBox(e));
    return;
  }
  if (rows.length === 0) {
    section.append(h('div', {class: 'card empty', text: 'No delivery attempts yet.'}));
    return;
  }
  const failures = rows.filter((r) => r.state !== 'delivered').length;
  section.append(h('p', {class: 'lead', text: failures + ' of the last ' + rows.length +
                                                  ' attempts did not deliver.'}));
  const kind = {delivered: 'verified', pending: 'pending', failed: 'invalid'};
  const columns = [{label: 'Time'}, {label: 'Batch'}, {label: 'Attempt', num: true},
                   {label: 'State'}, {label: 'Response'}, {label: 'Error'}];
  section.append(table('Delivery attempts', columns, rows.map((r) => [
    h('span', {text: fmtTime(r.ts)}),
    h('span', {class: 'mono', text: r.batch_id}),
    String(r.attempts),
    badge(kind[r.state] || 'pending', r.state),
    h('span', {text: r.response_code === '0' ? 'no answer' : r.response_code}),
    h('span', {text: r.error || ''}),
  ])));
}

async function toggle(ctx, w) {
  try {
    await ctx.api.put('/webhooks/' + enc(w.id), {active: !w.active});
    toast(w.active ? 'Paused' : 'Resumed');
  } catch (e) {
    toast('Failed: ' + e.message);
  }
  await ctx.refresh();
}

async function remove(ctx, w) {
  const done = await confirmDialog('Delete ' + w.name + '?',
                                   'Its queued batches are dropped; nothing more is sent to ' +
                                       w.target + '.',
                                   'Delete', async () => { await ctx.api.del('/webhooks/' + enc(w.id)); });
  if (!done) return;
  toast('Deleted');
  await ctx.refresh();
}
