// dashboard/www/js/tracking.js — Account → Tracking Domains: the table
// (status verified / pending / invalid / blocked, secure, default,
// subaccount), New Domain (Domain Name, Set as Default), and per domain:
// Verify (found vs expected, the exact CNAME record to create, copyable),
// Set as Default, Secure on/off (with the certificate's state: tls), Delete
// (refused with the API's reason while sending domains use it). Every rule is the API's; this page only asks.

import {enc} from './api.js';
import {h, clear, badge, errorBox, showError, toast, copyable, modal, formDialog,
        confirmDialog, field, checkbox, table, fmtTime, accountName, pageHead} from './ui.js';

// Where a secure domain's certificate stands (the API's tls object:
// pending | active | failed | manual, its expiry and why).
const TLS_WORDS = {active: 'Certificate active', manual: 'Own certificate',
                   pending: 'Certificate pending', failed: 'Certificate failed'};
export function tlsCell(d) {
  if (!d.tls) return null;
  const t = d.tls;
  return h('div', {class: 'sub tls tls-' + t.status},
           h('span', {text: TLS_WORDS[t.status] || t.status}),
           t.expires ? h('span', {text: ' · expires ' + fmtTime(t.expires)}) : null,
           t.message ? h('div', {class: 'sub', text: t.message}) : null);
}

// The one status word a domain shows.
export function statusOf(d) {
  const s = d.status || {};
  if (s.compliance_status === 'blocked') return 'blocked';
  if (s.verified) return 'verified';
  if (s.cname_status === 'invalid') return 'invalid';
  return 'pending';
}

const STATUS_HELP = {
  verified: 'Verified: links and pixels use this domain.',
  pending: 'Pending: not verified yet. Create the CNAME record, then Verify.',
  invalid: 'Invalid: the CNAME record is missing or points elsewhere.',
  blocked: 'Blocked: this domain may not be used.',
};

function recordText(rec) {
  return rec.name + '. CNAME ' + rec.value + '.';
}

export async function render(main, ctx) {
  const err = errorBox(null);
  main.append(...pageHead('Tracking Domains',
                          'A tracking domain carries the links and open pixels of your mail. ' +
                              'Point its CNAME record at ' + (ctx.me.cname_target || 'the system domain') +
                              ', verify it, and link sending domains to it.',
                          h('button', {type: 'button', class: 'primary',
                                       onclick: () => newDomain(ctx)}, 'New Domain')),
              err);
  const list = h('div', {class: 'stack'});
  main.append(list);
  let domains;
  try {
    domains = await ctx.api.get('/tracking-domains');
  } catch (e) {
    showError(err, e);
    return;
  }
  if (!ctx.current()) return;
  clear(list);
  if (domains.length === 0) {
    list.append(h('div', {class: 'card empty'},
                  h('p', {text: 'No tracking domains yet. Mail is tracked through the system ' +
                                'domain ' + (ctx.me.cname_target || '') + '.'}),
                  h('p', {text: 'Add one with New Domain: for example click.yourdomain.com.'})));
    return;
  }
  const withSub = ctx.subaccounts.length > 0 || domains.some((d) => d.subaccount_id);
  const columns = [{label: 'Domain'}, {label: 'Status'}, {label: 'Secure'}, {label: 'Default'}];
  if (withSub) columns.push({label: 'Subaccount'});
  columns.push({label: 'Actions'});
  const rows = domains.map((d) => {
    const st = statusOf(d);
    const fromFile = d.managed_by === 'config';
    const name = h('div', {},
                   h('div', {class: 'domain', text: d.domain}),
                   fromFile ? h('div', {class: 'sub', text: 'From the configuration file'}) : null,
                   st !== 'verified' && d.verification && d.verification.record
                       ? h('div', {class: 'sub'}, 'Create: ',
                           copyable(recordText(d.verification.record),
                                    'Copy the CNAME record of ' + d.domain))
                       : null);
    const status = h('div', {}, badge(st), h('span', {class: 'visually-hidden', text: ' ' + STATUS_HELP[st]}),
                     d.verification && d.verification.checked_at
                         ? h('div', {class: 'sub', text: 'Checked ' + fmtTime(d.verification.checked_at)})
                         : null);
    const secure = h('div', {}, h('span', {text: d.secure ? 'HTTPS' : 'HTTP'}), tlsCell(d));
    const def = d.default ? badge('default', 'Default')
        : (d.verification && d.verification.default_when_verified
               ? h('span', {class: 'sub', text: 'Default once verified'}) : h('span', {class: 'sub', text: '—'}));
    const actions = h('div', {class: 'actions'},
        h('button', {type: 'button', class: 'small', disabled: fromFile,
                     'aria-label': 'Verify ' + d.domain, onclick: () => verify(ctx, d)}, 'Verify'),
        h('button', {type: 'button', class: 'small', disabled: fromFile || d.default,
                     'aria-label': 'Set ' + d.domain + ' as default',
                     onclick: () => update(ctx, err, d, {default: true}, d.domain + ' is now the default')},
          'Set as Default'),
        h('button', {type: 'button', class: 'small', disabled: fromFile,
                     'aria-pressed': d.secure ? 'true' : 'false',
                     'aria-label': 'Secure (HTTPS links) for ' + d.domain,
                     onclick: () => update(ctx, err, d, {secure: !d.secure},
                                           d.domain + (d.secure ? ' now uses HTTP' : ' now uses HTTPS'))},
          d.secure ? 'Secure: on' : 'Secure: off'),
        h('button', {type: 'button', class: 'small danger', disabled: fromFile,
                     'aria-label': 'Delete ' + d.domain, onclick: () => remove(ctx, d)}, 'Delete'));
    const cells = [name, status, secure, def];
    if (withSub) cells.push(h('span', {text: accountName(d.subaccount_id, ctx.subaccounts)}));
    cells.push(actions);
    return cells;
  });
  list.append(table('Tracking domains', columns, rows));
}

async function update(ctx, err, d, body, done) {
  try {
    await ctx.api.put('/tracking-domains/' + enc(d.domain), body);
    toast(done);
    await ctx.refresh();
  } catch (e) {
    showError(err, e);
    err.scrollIntoView({block: 'nearest'});
  }
}

async function newDomain(ctx) {
  const name = h('input', {type: 'text', name: 'domain', autocomplete: 'off', spellcheck: 'false',
                           placeholder: 'click.example.com', required: true});
  const fields = [
    field('Domain Name', name, 'A subdomain you control, e.g. click.example.com (never the root domain).'),
    checkbox('Set as Default', 'default', false),
    checkbox('Secure (links use https://; needs a certificate on the tracker)', 'secure', false),
  ];
  if (ctx.subaccounts.length && ctx.scope() === '') {
    fields.push(h('p', {class: 'hint', text: 'It is added to the primary account; choose a ' +
                                            'subaccount in the Account menu to add it there.'}));
  }
  const created = await formDialog('New Tracking Domain', fields, 'Add Domain', async (form) => {
    const domain = name.value.trim();
    const r = await ctx.api.post('/tracking-domains', {
      domain,
      default: form.elements.default.checked,
      secure: form.elements.secure.checked,
    });
    return r.domain;
  });
  if (!created) return;
  toast('Added ' + created);
  await ctx.refresh();
  // What to do next: the record to create.
  try {
    const d = await ctx.api.get('/tracking-domains/' + enc(created));
    await modal('Create the DNS record', (close) => [
      h('p', {text: 'Add this CNAME record at your DNS provider, then choose Verify:'}),
      copyable(recordText(d.verification.record), 'Copy the CNAME record'),
      h('dl', {class: 'facts'},
        h('dt', {text: 'Host'}), h('dd', {class: 'mono', text: d.verification.record.name}),
        h('dt', {text: 'Type'}), h('dd', {text: 'CNAME'}),
        h('dt', {text: 'Value'}), h('dd', {class: 'mono', text: d.verification.record.value})),
      h('div', {class: 'buttons'},
        h('button', {type: 'button', class: 'primary', onclick: () => close()}, 'Done')),
    ]);
  } catch (e) {
    // The list shows the record too.
  }
}

async function verify(ctx, d) {
  let result;
  let error = null;
  try {
    result = await ctx.api.post('/tracking-domains/' + enc(d.domain) + '/verify', {});
  } catch (e) {
    error = e;
  }
  await modal('Verify ' + d.domain, (close) => {
    const out = [];
    if (error) {
      out.push(errorBox(error));
    } else {
      const st = result.verified ? 'verified' : (result.cname_status === 'invalid' ? 'invalid' : 'pending');
      out.push(h('p', {}, badge(st), ' ', STATUS_HELP[st]));
      out.push(h('dl', {class: 'facts'},
                 h('dt', {text: 'Found'}), h('dd', {class: 'mono', text: result.found || '(nothing)'}),
                 h('dt', {text: 'Expected'}), h('dd', {class: 'mono', text: result.expected}),
                 result.default ? [h('dt', {text: 'Default'}), h('dd', {text: 'yes'})] : null));
      if (result.message) out.push(h('p', {class: 'sub', text: result.message}));
      if (!result.verified && result.record) {
        out.push(h('p', {text: 'Create this record at your DNS provider, then verify again:'}),
                 copyable(recordText(result.record), 'Copy the CNAME record'));
      }
    }
    out.push(h('div', {class: 'buttons'},
               h('button', {type: 'button', class: 'primary', onclick: () => close()}, 'Close')));
    return out;
  });
  await ctx.refresh();
}

async function remove(ctx, d) {
  const gone = await confirmDialog('Delete ' + d.domain + '?',
                                   'Links and pixels already sent through ' + d.domain +
                                       ' stop redirecting and being counted once it is deleted. ' +
                                       'This cannot be undone.',
                                   'Delete', async () => {
                                     await ctx.api.del('/tracking-domains/' + enc(d.domain));
                                   });
  if (!gone) return;
  toast('Deleted ' + d.domain);
  await ctx.refresh();
}
