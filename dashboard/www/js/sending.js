// dashboard/www/js/sending.js — Account → Sending Domains: the table with
// each domain's linked tracking domain, New Domain (Domain Name, Linked
// Tracking Domain: the verified tracking domains of the same (sub)account),
// Update Tracking Domain, Verify (the TXT proof: an unverified domain shows
// the record to publish and is not used for mail), Delete. The API decides;
// errors are shown as it words them.

import {enc, describe} from './api.js';
import {h, clear, errorBox, showError, toast, formDialog, confirmDialog, field, select, table,
        accountName, badge, pageHead} from './ui.js';
import {statusOf} from './tracking.js';

// [value, label] options: none, then the verified tracking domains of `account`.
function linkOptions(tracking, account) {
  const opts = [['', 'None (the default tracking domain)']];
  for (const t of tracking) {
    if ((t.subaccount_id || 0) !== account || statusOf(t) !== 'verified') continue;
    opts.push([t.domain, t.domain + (t.default ? ' (default)' : '')]);
  }
  return opts;
}

export async function render(main, ctx) {
  const err = errorBox(null);
  main.append(...pageHead('Sending Domains',
                          'The domain of a message\'s From: address. Link it to a tracking ' +
                              'domain to use that domain for its links; without a link the ' +
                              'default tracking domain is used.',
                          h('button', {type: 'button', class: 'primary',
                                       onclick: () => newDomain(ctx, tracking)}, 'New Domain')),
              err);
  const list = h('div');
  main.append(list);
  let sending = [];
  let tracking = [];
  try {
    [sending, tracking] = await Promise.all([ctx.api.get('/sending-domains'),
                                             ctx.api.get('/tracking-domains')]);
  } catch (e) {
    showError(err, e);
    return;
  }
  if (!ctx.current()) return;
  clear(list);
  if (sending.length === 0) {
    list.append(h('div', {class: 'card empty'},
                  h('p', {text: 'No sending domains yet. Add the domain you send from with New Domain.'})));
    return;
  }
  const withSub = ctx.subaccounts.length > 0 || sending.some((d) => d.subaccount_id);
  const columns = [{label: 'Domain'}, {label: 'Linked Tracking Domain'}];
  if (withSub) columns.push({label: 'Subaccount'});
  columns.push({label: 'Actions'});
  const rows = sending.map((d) => {
    const fromFile = d.managed_by === 'config';
    const linked = tracking.find((t) => t.domain === d.tracking_domain);
    const link = d.tracking_domain
        ? h('div', {}, h('span', {class: 'domain', text: d.tracking_domain}), ' ',
            linked ? badge(statusOf(linked)) : badge('invalid', 'missing'),
            linked && statusOf(linked) !== 'verified'
                ? h('div', {class: 'sub', text: 'Not verified: mail uses the default until it is.'})
                : null)
        : h('span', {class: 'sub', text: 'None — the default tracking domain'});
    const proven = fromFile || (d.status && d.status.ownership_verified);
    const record = d.verification && d.verification.txt_record;
    const cells = [
      h('div', {}, h('div', {class: 'domain', text: d.domain}),
        fromFile ? h('div', {class: 'sub', text: 'From the configuration file'})
                 : badge(proven ? 'verified' : 'pending', proven ? 'verified' : 'not verified'),
        !proven && record
            ? h('div', {class: 'sub',
                        text: 'Not used for mail until verified. Publish ' + record.hostname +
                                  ' TXT "' + record.value + '", then Verify.'})
            : null),
      link,
    ];
    if (withSub) cells.push(h('span', {text: accountName(d.subaccount_id, ctx.subaccounts)}));
    cells.push(h('div', {class: 'actions'},
        h('button', {type: 'button', class: 'small', disabled: fromFile,
                     'aria-label': 'Verify the TXT record of ' + d.domain,
                     onclick: () => verify(ctx, d)}, 'Verify'),
        h('button', {type: 'button', class: 'small', disabled: fromFile,
                     'aria-label': 'Update the tracking domain of ' + d.domain,
                     onclick: () => updateLink(ctx, d, tracking)}, 'Update Tracking Domain'),
        h('button', {type: 'button', class: 'small danger', disabled: fromFile,
                     'aria-label': 'Delete ' + d.domain, onclick: () => remove(ctx, d)}, 'Delete')));
    return cells;
  });
  list.append(table('Sending domains', columns, rows));
}

async function newDomain(ctx, tracking) {
  if (!tracking) return;
  const account = ctx.account();
  const name = h('input', {type: 'text', name: 'domain', autocomplete: 'off', spellcheck: 'false',
                           placeholder: 'example.com'});
  const opts = linkOptions(tracking, account);
  const link = select('tracking_domain', opts, opts.length > 1 ? opts[1][0] : '');
  const fields = [
    field('Domain Name', name, 'The domain of your From: address, e.g. example.com.'),
    field('Linked Tracking Domain', link,
          opts.length > 1 ? 'Verified tracking domains of ' +
                                (account ? 'subaccount ' + accountName(account, ctx.subaccounts)
                                         : 'the primary account') + '.'
                          : 'No verified tracking domain in this account yet: verify one first, or link later.'),
  ];
  const created = await formDialog('New Sending Domain', fields, 'Add Domain', async () => {
    const r = await ctx.api.post('/sending-domains', {domain: name.value.trim(),
                                                      tracking_domain: link.value});
    return r.domain;
  });
  if (!created) return;
  toast('Added ' + created);
  await ctx.refresh();
}

async function updateLink(ctx, d, tracking) {
  const opts = linkOptions(tracking, d.subaccount_id || 0);
  if (d.tracking_domain && !opts.some(([v]) => v === d.tracking_domain)) {
    opts.push([d.tracking_domain, d.tracking_domain + ' (not verified)']);
  }
  const link = select('tracking_domain', opts, d.tracking_domain || '');
  const done = await formDialog('Update Tracking Domain of ' + d.domain,
                                [field('Linked Tracking Domain', link)], 'Update Tracking Domain',
                                async () => {
                                  await ctx.api.put('/sending-domains/' + enc(d.domain),
                                                    {tracking_domain: link.value});
                                });
  if (!done) return;
  toast(d.domain + (link.value ? ' now uses ' + link.value : ' now uses the default'));
  await ctx.refresh();
}

// POST /sending-domains/{domain}/verify: the TXT proof of ownership.
async function verify(ctx, d) {
  try {
    const r = await ctx.api.post('/sending-domains/' + enc(d.domain) + '/verify', {});
    toast(r.ownership_verified ? d.domain + ' is verified' : r.message);
  } catch (e) {
    toast(describe(e));
  }
  await ctx.refresh();
}

async function remove(ctx, d) {
  const gone = await confirmDialog('Delete ' + d.domain + '?',
                                   'Its mail will use the default tracking domain.', 'Delete',
                                   async () => { await ctx.api.del('/sending-domains/' + enc(d.domain)); });
  if (!gone) return;
  toast('Deleted ' + d.domain);
  await ctx.refresh();
}
