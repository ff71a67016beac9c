// tests/api/node/client_test.js — the official SparkPost Node client (npm
// `sparkpost`), unchanged, against a running trackrelay: sendingDomains
// create/get/list/update/delete, subaccounts list/get/create/update (the
// key made by create, X-MSYS-SUBACCOUNT through the client's `headers`
// option), tracking domains and /subaccounts/summary through the client's
// generic request(), events.searchMessage with SparkPost's filters (arrays
// joined by the client, cursor paging, total_count). Errors come back as the
// client's SparkPostError with
// the API's status code and errors[]. Run by sparkpost_client_test.py with
// TRACKRELAY_API_PORT and TRACKRELAY_API_KEY set.
'use strict';
const assert = require('node:assert/strict');
const { test } = require('node:test');
const SparkPost = require('sparkpost');

const client = new SparkPost(process.env.TRACKRELAY_API_KEY, {
  origin: `http://127.0.0.1:${process.env.TRACKRELAY_API_PORT}`,
});

test('tracking domains through the generic request', async () => {
  const created = await client.request({
    method: 'POST', uri: 'tracking-domains', json: { domain: 'click.node.example.com' },
  });
  assert.equal(created.results.domain, 'click.node.example.com');
  const one = await client.get({ uri: 'tracking-domains/click.node.example.com' });
  assert.equal(one.results.status.verified, false);
  const list = await client.get({ uri: 'tracking-domains' });
  assert.ok(list.results.some((d) => d.domain === 'click.node.example.com'));
  await assert.rejects(
    client.request({ method: 'POST', uri: 'tracking-domains', json: { domain: 'example.org' } }),
    (err) => err.statusCode === 422 && /root domain/.test(err.errors[0].description));
  await assert.rejects(
    client.request({ method: 'POST', uri: 'tracking-domains', json: { domain: 'click.node.example.com' } }),
    (err) => err.statusCode === 409);
});

test('sendingDomains create/get/list/update/delete', async () => {
  const created = await client.sendingDomains.create({
    domain: 'node.example.com', tracking_domain: 'click.node.example.com',
  });
  assert.equal(created.results.domain, 'node.example.com');
  const got = await client.sendingDomains.get('node.example.com');
  assert.equal(got.results.tracking_domain, 'click.node.example.com');
  const list = await client.sendingDomains.list();
  assert.ok(list.results.some((d) => d.domain === 'node.example.com'));
  const updated = await client.sendingDomains.update('node.example.com', { tracking_domain: '' });
  assert.equal(updated.results.domain, 'node.example.com');
  assert.equal((await client.sendingDomains.get('node.example.com')).results.tracking_domain, '');
  await assert.rejects(
    client.sendingDomains.update('node.example.com', { tracking_domain: 'unknown.node.example.com' }),
    (err) => err.statusCode === 400 && /unknown\.node\.example\.com/.test(err.errors[0].description));
  await client.sendingDomains.delete('node.example.com');
  await assert.rejects(client.sendingDomains.get('node.example.com'), (err) => err.statusCode === 404);
  await client.delete({ uri: 'tracking-domains/click.node.example.com' });
});

test('subaccounts list/get/create/update', async () => {
  const origin = `http://127.0.0.1:${process.env.TRACKRELAY_API_PORT}`;
  const created = await client.subaccounts.create({
    name: 'Node Sub', key_label: 'node app', key_grants: ['smtp/inject', 'tracking_domains/manage'],
  });
  const id = created.results.subaccount_id;
  assert.equal(typeof id, 'number');
  assert.equal(created.results.label, 'node app');
  assert.equal(created.results.short_key, created.results.key.slice(0, 4));
  const list = await client.subaccounts.list();
  assert.ok(list.results.some((s) => s.id === id && s.name === 'Node Sub' && s.status === 'active'));
  assert.equal((await client.subaccounts.get(String(id))).results.name, 'Node Sub');
  const updated = await client.subaccounts.update(String(id), { name: 'Renamed', status: 'suspended' });
  assert.equal(updated.results.status, 'suspended');
  const got = await client.subaccounts.get(String(id));
  assert.equal(got.results.name, 'Renamed');
  assert.equal(got.results.status, 'suspended');

  // Its key (from create) is refused while suspended, works once active.
  const sub = new SparkPost(created.results.key, { origin });
  await assert.rejects(sub.get({ uri: 'tracking-domains' }), (err) => err.statusCode === 403);
  await client.subaccounts.update(String(id), { status: 'active' });
  // The primary acting for it (X-MSYS-SUBACCOUNT) creates its tracking domain.
  const acting = new SparkPost(process.env.TRACKRELAY_API_KEY, {
    origin, headers: { 'X-MSYS-SUBACCOUNT': String(id) },
  });
  await acting.request({ method: 'POST', uri: 'tracking-domains', json: { domain: 'click.sub.node.example.com' } });
  const mine = await sub.get({ uri: 'tracking-domains' });
  assert.deepEqual(mine.results.map((d) => d.domain), ['click.sub.node.example.com']);
  assert.deepEqual((await acting.get({ uri: 'tracking-domains' })).results.map((d) => d.domain),
    ['click.sub.node.example.com']);
  // Its key has no sending_domains/manage grant; naming another account is a 403.
  await assert.rejects(sub.sendingDomains.list(), (err) => err.statusCode === 403);
  const other = new SparkPost(created.results.key, { origin, headers: { 'X-MSYS-SUBACCOUNT': '0' } });
  await assert.rejects(other.get({ uri: 'tracking-domains' }),
    (err) => err.statusCode === 403 && err.errors[0].code === '1101');

  await assert.rejects(client.subaccounts.create({ name: 'x', key_grants: ['transmissions/modify'] }),
    (err) => err.statusCode === 400 && /unknown grant/.test(err.errors[0].description));
  const summary = await client.get({ uri: 'subaccounts/summary' });
  assert.equal(summary.results.total, list.results.length);
  await client.subaccounts.update(String(id), { status: 'terminated' });
  await assert.rejects(client.subaccounts.update(String(id), { status: 'active' }),
    (err) => err.statusCode === 409);
});

test('a wrong key is a 401 SparkPostError', async () => {
  const bad = new SparkPost('0000000000000000000000000000000000000000', {
    origin: `http://127.0.0.1:${process.env.TRACKRELAY_API_PORT}`,
  });
  await assert.rejects(bad.sendingDomains.list(), (err) => err.statusCode === 401 && err.errors.length === 1);
});

test('events.searchMessage with SparkPost filters', async () => {
  const mine = await client.events.searchMessage({ campaigns: ['node-campaign'] });
  assert.deepEqual(mine.results.map((e) => e.type).sort(), ['click', 'injection']);
  assert.equal(mine.total_count, 2);
  for (const e of mine.results) {
    assert.equal(e.rcpt_to, 'node@example.net');
    assert.deepEqual(e.rcpt_meta, { user: 'n1' });
    assert.deepEqual(e.rcpt_tags, ['node']);
    assert.match(e.transmission_id, /^[1-9][0-9]{17}$/);
  }
  const tx = mine.results[0].transmission_id;
  const clicks = await client.events.searchMessage({
    events: ['click', 'open'], recipients: ['node@example.net', 'nobody@example.net'],
    transmission_ids: [tx],
  });
  assert.equal(clicks.total_count, 1);
  assert.equal(clicks.results[0].target_link_url, 'https://shop.example/p');
  const page = await client.events.searchMessage({ per_page: 1, events: 'injection' });
  assert.equal(page.results.length, 1);
  assert.equal(page.total_count, 2);
  assert.match(page.links.next, /cursor=/);
  await assert.rejects(client.events.searchMessage({ bounce_classes: [10] }),
    (err) => err.statusCode === 400 && /bounce_classes/.test(err.errors[0].description));
});
