#!/usr/bin/env node
// tests/dashboard/dashboard_test.mjs — the dashboard end to end in real
// Chromium (Debian's /usr/bin/chromium driven by playwright-core; Playwright
// never downloads a browser), against `trackrelay serve` with dnsmasq as its
// resolver (env.mjs).
//
// Proves, through the page only: a wrong key is refused in words; sign-in
// with an API key sets an HttpOnly SameSite=Strict cookie; a new tracking
// domain shows as pending; Verify shows found vs expected and the exact
// CNAME record; once dnsmasq serves the record Verify makes it verified; Set
// as Default; a sending domain linked to it (the select offers verified
// domains only); deleting the tracking domain is refused with the API's
// reason; a message sent through the relay (smtplib) carries links through
// the domain; following one on the tracker (right Host) redirects; the click
// (with its link name, campaign and tracking domain) is in Engagement, also
// filtered, with the unique click rate against the injected recipients; an API key is created (shown once) and revoked; a change without
// the CSRF token is refused; the page sends a CSP and runs with no console
// error; a webhook is created (its signing secret shown once), tested, and
// its batch-status shows a failed then delivered batch after a click;
// sign-out ends the session; the admin password signs in. Screenshots
// of every page at 1280 px and 360 px go to SCREENSHOT_DIR.
//
// usage: dashboard_test.mjs TRACKRELAY WORKDIR SCREENSHOT_DIR
//   WORKDIR gets package.json/package-lock.json and `npm ci` on first run.
//   Exit 77 (skipped) when chromium, npm or dnsmasq is missing.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import {fileURLToPath, pathToFileURL} from 'node:url';

import {Env, SYSTEM_DOMAIN} from './env.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const [trackrelay, workdir, shots] = process.argv.slice(2);
const ADMIN_PASSWORD = 'correct horse battery staple';
const DOMAIN = 'click.example.com';
const BEFORE = ['host-record=track.example.net,127.0.0.1'];
const AFTER = BEFORE.concat([`cname=${DOMAIN},${SYSTEM_DOMAIN}`]);

function skip(why) {
  console.log('SKIP: ' + why + ' (scripts/install-deps.sh --test)');
  process.exit(77);
}

async function loadPlaywright() {
  if (!trackrelay || !workdir || !shots) {
    console.error('usage: dashboard_test.mjs TRACKRELAY WORKDIR SCREENSHOT_DIR');
    process.exit(64);
  }
  if (!fs.existsSync(CHROMIUM)) skip(CHROMIUM + ' is not installed (Debian package chromium)');
  if (!fs.existsSync('/usr/sbin/dnsmasq')) skip('dnsmasq is not installed (dnsmasq-base)');
  fs.mkdirSync(workdir, {recursive: true});
  for (const f of ['package.json', 'package-lock.json']) {
    fs.copyFileSync(path.join(HERE, f), path.join(workdir, f));
  }
  const marker = path.join(workdir, 'node_modules', 'playwright-core', 'package.json');
  const want = JSON.parse(fs.readFileSync(path.join(HERE, 'package.json'))).dependencies['playwright-core'];
  if (!fs.existsSync(marker) || JSON.parse(fs.readFileSync(marker)).version !== want) {
    const npm = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], {
      cwd: workdir, stdio: 'inherit', timeout: 240000,
      env: {...process.env, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1'},
    });
    if (npm.error && npm.error.code === 'ENOENT') skip('npm is not installed');
    if (npm.status !== 0) throw new Error('npm ci failed in ' + workdir);
  }
  const url = pathToFileURL(path.join(workdir, 'node_modules', 'playwright-core', 'index.mjs'));
  return (await import(url.href)).chromium;
}

let step = 0;
function log(what) {
  console.log(`[${++step}] ${what}`);
}

async function main() {
  const chromium = await loadPlaywright();
  fs.mkdirSync(shots, {recursive: true});
  const env = new Env(trackrelay);
  let browser;
  try {
    await env.start({records: BEFORE, adminPassword: ADMIN_PASSWORD, fileDomains: ['links.example.org']});
    browser = await chromium.launch({executablePath: CHROMIUM, args: ['--no-sandbox']});
    const context = await browser.newContext({viewport: {width: 1280, height: 860}});
    const page = await context.newPage();
    const problems = [];
    // Error answers the page shows in words are logged by Chromium as "Failed
    // to load resource"; anything else (a CSP violation, a script error) is a problem.
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    const shot = async (name, p = page) => {
      await p.waitForLoadState('networkidle');
      await p.screenshot({path: path.join(shots, name + '.png'), fullPage: true});
    };
    const main = page.locator('main');
    const row = (text) => main.locator('tr', {hasText: text});
    const dialog = page.locator('dialog[open]');

    log('the page and its headers');
    const index = await env.request('GET', '/');
    assert.equal(index.status, 200);
    assert.match(index.headers['content-security-policy'], /script-src 'self'/);
    assert.doesNotMatch(index.body, /<script>|<script [^>]*>[^<]/, 'no inline script');
    assert.equal(index.headers['x-content-type-options'], 'nosniff');

    log('sign in: a wrong key is refused in words, the right key gets a session');
    await page.goto(env.origin + '/');
    await page.locator('#signin-key').fill('0'.repeat(40));
    await page.getByRole('button', {name: 'Sign in'}).click();
    await page.getByRole('alert').filter({hasText: 'unknown or has been revoked'}).waitFor();
    await shot('signin-1280');
    await page.locator('#signin-key').fill(env.key);
    await page.getByRole('button', {name: 'Sign in'}).click();
    await page.getByRole('heading', {name: 'Tracking Domains'}).waitFor();
    const [cookie] = (await context.cookies()).filter((c) => c.name === 'trackrelay_session');
    assert.ok(cookie, 'session cookie');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');

    log('a change without the CSRF token is refused; with it, it is not');
    const cookieHeader = {Cookie: `trackrelay_session=${cookie.value}`, 'Content-Type': 'application/json'};
    let r = await env.request('POST', '/api/v1/tracking-domains', cookieHeader, '{"domain":"x.example.com"}');
    assert.equal(r.status, 403, r.body);
    assert.match(r.body, /X-CSRF-Token/);
    r = await env.request('GET', '/api/v1/tracking-domains', cookieHeader);
    assert.equal(r.status, 200, 'reads need no token');

    log('add a tracking domain: it is pending');
    await main.getByRole('button', {name: 'New Domain'}).click();
    await dialog.getByLabel('Domain Name').fill('Click.Example.com');
    await dialog.getByRole('button', {name: 'Add Domain'}).click();
    await page.locator('dialog[open]', {hasText: 'Create the DNS record'}).waitFor();
    assert.match(await dialog.textContent(), new RegExp(`${DOMAIN}\\. CNAME ${SYSTEM_DOMAIN}\\.`));
    await dialog.getByRole('button', {name: 'Done'}).click();
    await row(DOMAIN).locator('.badge.pending').waitFor();

    log('verify before the record exists: found vs expected and the record to create');
    await main.getByRole('button', {name: `Verify ${DOMAIN}`}).click();
    await dialog.locator('.badge.invalid').waitFor();
    const text = await dialog.textContent();
    assert.match(text, /Expected\s*track\.example\.net/);
    assert.match(text, /Found/);
    assert.match(text, new RegExp(`${DOMAIN}\\. CNAME ${SYSTEM_DOMAIN}\\.`));
    await shot('verify-invalid-1280');
    await dialog.getByRole('button', {name: 'Close'}).click();
    await row(DOMAIN).locator('.badge.invalid').waitFor();

    log('the record appears in DNS (dnsmasq restarted); verify: verified');
    await env.dns.restart(AFTER);
    await main.getByRole('button', {name: `Verify ${DOMAIN}`}).click();
    await dialog.locator('.badge.verified').waitFor();
    assert.match(await dialog.textContent(), /Found\s*track\.example\.net/);
    await dialog.getByRole('button', {name: 'Close'}).click();
    await row(DOMAIN).locator('.badge.verified').waitFor();

    log('set as default');
    await main.getByRole('button', {name: `Set ${DOMAIN} as default`}).click();
    await row(DOMAIN).getByText('Default', {exact: true}).waitFor();
    assert.ok(await main.getByRole('button', {name: `Set ${DOMAIN} as default`}).isDisabled());
    assert.ok(await row('links.example.org').getByText('From the configuration file').isVisible());
    await shot('tracking-domains-1280');

    log('add a sending domain linked to it');
    await page.getByRole('link', {name: 'Sending Domains'}).click();
    await main.getByRole('heading', {name: 'Sending Domains'}).waitFor();
    await main.getByRole('button', {name: 'New Domain'}).click();
    await dialog.getByLabel('Domain Name').fill('example.com');
    const options = await dialog.getByLabel('Linked Tracking Domain').locator('option').allTextContents();
    assert.ok(options.some((o) => o.startsWith(DOMAIN)), options.join(','));
    await dialog.getByLabel('Linked Tracking Domain').selectOption(DOMAIN);
    await dialog.getByRole('button', {name: 'Add Domain'}).click();
    await row('example.com').getByText(DOMAIN).waitFor();
    await shot('sending-domains-1280');

    log('deleting the tracking domain is refused with the API\'s reason');
    await page.getByRole('link', {name: 'Tracking Domains'}).click();
    await main.getByRole('button', {name: `Delete ${DOMAIN}`}).click();
    await dialog.getByRole('button', {name: 'Delete'}).click();
    await dialog.getByRole('alert').filter({hasText: 'is the tracking domain of the sending domain(s) example.com'}).waitFor();
    assert.match(await dialog.getByRole('alert').textContent(), /HTTP 409/);
    await shot('delete-refused-1280');
    await dialog.getByRole('button', {name: 'Cancel'}).click();

    log('send a message through the relay; follow its tracked link');
    const link = env.sendMail({from: 'news@example.com', linkName: 'spring-sale',
                               url: 'https://shop.example/sale?x=1', campaign: 'spring'});
    assert.ok(link.startsWith(`http://${DOMAIN}/f/`), link);
    const followed = await env.follow(link);
    assert.equal(followed.status, 302);
    assert.equal(followed.location, 'https://shop.example/sale?x=1');

    log('the click is in Engagement, with its link name, campaign and tracking domain');
    await page.getByRole('link', {name: 'Engagement'}).click();
    await main.getByRole('heading', {name: 'Engagement'}).waitFor();
    await main.locator('.total.click .n', {hasText: '1'}).waitFor();
    log('rates against what was sent: one recipient, who clicked');
    await main.locator('.rate.injected .n', {hasText: '1'}).waitFor();
    assert.equal((await main.locator('.rate.clicked .n').textContent()).trim(), '100%');
    const recent = main.locator('section', {has: page.getByRole('heading', {name: 'Recent events'})});
    await recent.locator('tr', {hasText: 'spring-sale'}).filter({hasText: DOMAIN}).waitFor();
    assert.match(await recent.textContent(), /spring/);
    const top = main.locator('section', {has: page.getByRole('heading', {name: 'Top links by clicks'})});
    await top.getByText('spring-sale').waitFor();
    assert.equal(await main.locator('.chart svg polyline').count(), 2);
    await main.locator('select[name=campaign]').selectOption('spring');
    await main.locator('select[name=type]').selectOption('click');
    await recent.locator('tr', {hasText: 'spring-sale'}).waitFor();
    await main.locator('select[name=domain]').selectOption('links.example.org');
    await main.getByText('No events match these filters.').waitFor();
    await main.locator('select[name=domain]').selectOption('');
    await recent.locator('tr', {hasText: 'spring-sale'}).waitFor();
    await shot('engagement-1280');

    log('API keys: create (shown once), revoke');
    await page.getByRole('link', {name: 'API Keys'}).click();
    await main.getByRole('button', {name: 'Create API Key'}).click();
    await dialog.getByLabel('Label').fill('newsletter app');
    await dialog.getByRole('button', {name: 'Create'}).click();
    await page.locator('dialog[open]', {hasText: 'it will not be shown again'}).waitFor();
    const newKey = (await dialog.locator('code').textContent()).trim();
    assert.match(newKey, /^[0-9a-f]{40}$/);
    await shot('api-key-created-1280');
    await dialog.getByRole('button', {name: 'I have copied it'}).click();
    r = await env.request('GET', '/api/v1/tracking-domains', {Authorization: newKey});
    assert.equal(r.status, 200, 'the new key works');
    await shot('api-keys-1280');
    await main.getByRole('button', {name: 'Revoke key newsletter app'}).click();
    await dialog.getByRole('button', {name: 'Revoke'}).click();
    await row('newsletter app').waitFor({state: 'detached'});
    r = await env.request('GET', '/api/v1/tracking-domains', {Authorization: newKey});
    assert.equal(r.status, 401, 'the revoked key is refused');

    log('subaccounts: create (its key shown once), act for it with the switcher, suspend, terminate');
    await page.getByRole('link', {name: 'Subaccounts'}).click();
    await main.getByRole('heading', {name: 'Subaccounts'}).waitFor();
    await main.getByText('No subaccounts yet.').waitFor();
    await main.getByRole('button', {name: 'New Subaccount'}).click();
    await dialog.getByLabel('Name').fill('Acme');
    await dialog.getByLabel('Key Label').fill('acme app');
    await dialog.getByRole('button', {name: 'Create', exact: true}).click();
    await page.locator('dialog[open]', {hasText: 'it will not be shown again'}).waitFor();
    const subKey = (await dialog.locator('code').textContent()).trim();
    assert.match(subKey, /^[0-9a-f]{40}$/);
    await dialog.getByRole('button', {name: 'I have copied it'}).click();
    await row('Acme').getByText('active').waitFor();
    await shot('subaccounts-1280');
    const acme = JSON.parse((await env.request('GET', '/api/v1/subaccounts', {Authorization: env.key})).body)
        .results.find((s) => s.name === 'Acme');
    await page.locator('#account').selectOption(String(acme.id));
    await page.getByRole('link', {name: 'Tracking Domains'}).click();
    await main.getByText('No tracking domains yet.').waitFor();
    await main.getByRole('button', {name: 'New Domain'}).click();
    await dialog.getByLabel('Domain Name').fill('click.acme.example.com');
    await dialog.getByRole('button', {name: 'Add Domain'}).click();
    await page.locator('dialog[open]', {hasText: 'Create the DNS record'}).waitFor();
    await dialog.getByRole('button', {name: 'Done'}).click();
    await row('click.acme.example.com').waitFor();
    assert.equal(await row(DOMAIN).count(), 0, 'the primary\'s domains are not Acme\'s');
    r = await env.request('GET', '/api/v1/tracking-domains', {Authorization: subKey});
    assert.deepEqual(JSON.parse(r.body).results.map((d) => d.domain), ['click.acme.example.com'],
                     'made in Acme by the switcher (X-MSYS-SUBACCOUNT)');
    await page.locator('#account').selectOption('');
    await row(DOMAIN).waitFor();
    await page.getByRole('link', {name: 'Subaccounts'}).click();
    await main.getByRole('button', {name: 'Suspend Acme'}).click();
    await dialog.getByRole('button', {name: 'Suspend'}).click();
    await row('Acme').getByText('suspended').waitFor();
    r = await env.request('GET', '/api/v1/tracking-domains', {Authorization: subKey});
    assert.equal(r.status, 403, 'a suspended subaccount\'s key is refused');
    await main.getByRole('button', {name: 'Terminate Acme'}).click();
    await dialog.getByRole('button', {name: 'Terminate'}).click();
    await row('Acme').getByText('terminated').waitFor();
    assert.equal(await main.getByRole('button', {name: 'Reactivate Acme'}).count(), 0, 'terminated is final');
    await page.getByRole('link', {name: 'API Keys'}).click();
    await main.getByRole('heading', {name: 'API Keys'}).waitFor();
    log('webhooks: create (secret shown once), test, a failed then delivered batch');
    const hooked = [];
    const receiver = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        hooked.push({headers: req.headers, body: Buffer.concat(chunks)});
        const fail = hooked.length === 2;  // the first batch after the test: 500 once
        res.writeHead(fail ? 500 : 200, {'Content-Type': 'text/plain'});
        res.end(fail ? 'busy' : 'ok');
      });
    });
    await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      await page.getByRole('link', {name: 'Webhooks'}).click();
      await main.getByRole('button', {name: 'Create Webhook'}).click();
      await dialog.getByLabel('Name', {exact: true}).fill('crm feed');
      await dialog.getByLabel('Target URL').fill(`http://127.0.0.1:${receiver.address().port}/hook`);
      await dialog.getByRole('button', {name: 'Create'}).click();
      await page.locator('dialog[open]', {hasText: 'it will not be shown again'}).waitFor();
      const secret = (await dialog.locator('code').textContent()).trim();
      assert.match(secret, /^[0-9a-f]{64}$/);
      await shot('webhook-created-1280');
      await dialog.getByRole('button', {name: 'I have copied it'}).click();
      await main.getByRole('button', {name: 'Test webhook crm feed'}).click();
      await dialog.getByText('Test POST to endpoint succeeded').waitFor();
      await dialog.getByRole('button', {name: 'Close'}).click();
      const signed = (m) => {
        const [t, v1] = m.headers['x-trackrelay-signature'].split(',').map((x) => x.split('=')[1]);
        const want = crypto.createHmac('sha256', secret).update(t + '.').update(m.body).digest('hex');
        return v1 === want;
      };
      assert.ok(signed(hooked[0]), 'the test batch is signed with the secret shown once');
      await env.follow(link);  // a second click: its batch fails once, then is delivered
      await main.getByRole('button', {name: 'Recent batches of crm feed'}).click();
      const batches = main.locator('section.batches');
      for (let i = 0; i < 40 && !(await batches.getByText('delivered').count()); ++i) {
        await page.waitForTimeout(500);
        await main.getByRole('button', {name: 'Recent batches of crm feed'}).click();
      }
      await batches.locator('tr', {hasText: '500'}).waitFor();
      await batches.locator('tr', {hasText: 'delivered'}).waitFor();
      assert.ok(hooked.length >= 3 && hooked.every(signed), 'every request is signed');
      await shot('webhooks-1280');
    } finally {
      receiver.close();
    }

    log('every page at 360 px');
    const narrow = await context.newPage();
    await narrow.setViewportSize({width: 360, height: 740});
    narrow.on('pageerror', (e) => problems.push(e.message));
    for (const p of ['tracking-domains', 'sending-domains', 'engagement', 'api-keys', 'subaccounts', 'webhooks']) {
      await narrow.goto(env.origin + '/#/' + p);
      await narrow.locator('main h1').waitFor();
      await narrow.locator('main table, main .empty').first().waitFor();
      const overflow = await narrow.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(overflow <= 360, `${p} is ${overflow}px wide at 360px`);
      await shot(p + '-360', narrow);
    }
    await narrow.close();

    log('sign out ends the session; the admin password signs in');
    await page.getByRole('button', {name: 'Sign out'}).click();
    await page.getByRole('button', {name: 'Sign in'}).waitFor();
    r = await env.request('GET', '/api/v1/tracking-domains', cookieHeader);
    assert.equal(r.status, 401, 'the old session is gone');
    await page.getByRole('radio', {name: 'Admin password'}).check();
    await page.locator('#signin-password').fill('wrong');
    await page.getByRole('button', {name: 'Sign in'}).click();
    await page.getByRole('alert').filter({hasText: 'wrong password'}).waitFor();
    await page.locator('#signin-password').fill(ADMIN_PASSWORD);
    await page.getByRole('button', {name: 'Sign in'}).click();
    await main.getByRole('heading', {name: 'Webhooks', exact: true}).waitFor();  // where the page was
    await page.getByRole('link', {name: 'Tracking Domains'}).click();
    await row(DOMAIN).locator('.badge.verified').waitFor();
    assert.match(await page.locator('#who').textContent(), /admin/);
    const login360 = await browser.newPage({viewport: {width: 360, height: 740}});
    await login360.goto(env.origin + '/');
    await login360.getByRole('button', {name: 'Sign in'}).waitFor();
    await shot('signin-360', login360);
    await login360.close();

    assert.deepEqual(problems, [], 'console errors or CSP violations');
    console.log(`ok: dashboard end to end; screenshots in ${shots}`);
  } finally {
    if (browser) await browser.close();
    await env.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
