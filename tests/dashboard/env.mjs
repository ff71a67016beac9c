// tests/dashboard/env.mjs — the processes behind the dashboard's end-to-end
// test: a temporary directory with a configuration, dnsmasq (Debian) as the
// resolver with records the test rewrites (restart on the same port), one
// `trackrelay serve` with the relay (maildir capture), the tracker and the
// API/dashboard on kernel-chosen ports read from its log, a message sent
// through the relay with Python's smtplib, and the tracker followed with the
// right Host. Readiness is a log line or an answer, never a sleep.
import {spawn, spawnSync} from 'node:child_process';
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

export const SYSTEM_DOMAIN = 'track.example.net';

function freeUdpPort() {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.on('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const port = s.address().port;
      s.close(() => resolve(port));
    });
  });
}

// "pbkdf2-sha256$ITER$SALT$HASH", the format of relay.auth and dashboard.admin_password_hash.
export function passwordHash(password, iterations = 2000) {
  const salt = crypto.randomBytes(16);
  const hash = crypto.pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  return `pbkdf2-sha256$${iterations}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

class Dnsmasq {
  constructor(dir, port) {
    this.dir = dir;
    this.port = port;
    this.proc = null;
  }

  // Its port is fixed (the configuration names it), so a start that loses a
  // race for the port is retried on the same port; readiness is an answer for
  // a name only this instance knows, never another test's server.
  async start(records) {
    this.readyName = `ready-${process.pid}-${this.port}.check.test`;
    const conf = path.join(this.dir, 'dnsmasq.conf');
    fs.writeFileSync(conf, 'no-resolv\nno-hosts\nbind-interfaces\nlisten-address=127.0.0.1\n' +
                               `port=${this.port}\npid-file=\nlocal=/example.com/\n` +
                               `host-record=${this.readyName},127.0.0.9\n` +
                               records.map((r) => r + '\n').join(''));
    for (let attempt = 0; attempt < 8; ++attempt) {
      this.proc = spawn('/usr/sbin/dnsmasq', ['--keep-in-foreground', '--conf-file=' + conf,
                                              '--log-facility=-'], {stdio: 'ignore'});
      const deadline = Date.now() + 10000;
      while (Date.now() < deadline && this.proc.exitCode === null) {
        if (await this.answers()) return;
      }
      await this.stop();
      await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
    }
    throw new Error('dnsmasq did not start');
  }

  answers() {
    const labels = Buffer.concat(this.readyName.split('.').map(
        (l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])));
    const q = Buffer.concat([Buffer.from('123401000001000000000000', 'hex'), labels,
                             Buffer.from('0000010001', 'hex')]);
    return new Promise((resolve) => {
      const s = dgram.createSocket('udp4');
      const done = (ok) => { clearTimeout(t); s.close(); resolve(ok); };
      const t = setTimeout(() => done(false), 200);
      s.on('message', (m) => done(m.length >= 12 && ((m[6] << 8) | m[7]) >= 1));
      s.on('error', () => done(false));
      s.send(q, this.port, '127.0.0.1');
    });
  }

  // dnsmasq re-reads its configuration only when restarted (SIGHUP re-reads hosts files).
  async restart(records) {
    await this.stop();
    await this.start(records);
  }

  stop() {
    return new Promise((resolve) => {
      if (!this.proc || this.proc.exitCode !== null) return resolve();
      this.proc.once('exit', () => resolve());
      this.proc.kill('SIGTERM');
    });
  }
}

class Serve {
  constructor(trackrelay, config) {
    this.lines = [];
    this.waiters = [];
    this.proc = spawn(trackrelay, ['--config', config, 'serve'], {stdio: ['ignore', 'ignore', 'pipe']});
    let buf = '';
    this.proc.stderr.on('data', (chunk) => {
      buf += chunk.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        this.lines.push(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
      this.wake();
    });
    this.proc.on('exit', () => { this.exited = true; this.wake(); });
  }

  wake() {
    for (const w of this.waiters.splice(0)) w();
  }

  async waitFor(re, ms = 30000) {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = this.lines.find((l) => re.test(l));
      if (hit) return hit;
      if (this.exited) throw new Error('serve exited:\n' + this.lines.join('\n'));
      if (Date.now() > deadline) throw new Error(`no ${re} in the log:\n` + this.lines.join('\n'));
      await new Promise((r) => { this.waiters.push(r); setTimeout(r, 200); });
    }
  }

  ports() {
    const out = {};
    for (const l of this.lines) {
      const m = /trackrelay: (\w+): listening on (?:https?:\/\/)?127\.0\.0\.1:(\d+)/.exec(l);
      if (m) out[m[1]] = Number(m[2]);
    }
    return out;
  }

  stop() {
    return new Promise((resolve) => {
      if (this.exited) return resolve();
      const kill = setTimeout(() => this.proc.kill('SIGKILL'), 20000);
      this.proc.once('exit', () => { clearTimeout(kill); resolve(); });
      this.proc.kill('SIGTERM');
    });
  }
}

export class Env {
  constructor(trackrelay) {
    this.trackrelay = trackrelay;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trackrelay-dashboard-e2e-'));
    this.outbox = path.join(this.dir, 'outbox');
    this.serveProc = null;
    this.dns = null;
  }

  async start({records, adminPassword, fileDomains}) {
    // The UDP port was free a moment ago; dnsmasq also needs it for TCP, and
    // other tests run alongside: try a few ports.
    for (let attempt = 1; ; ++attempt) {
      this.dns = new Dnsmasq(this.dir, await freeUdpPort());
      try {
        await this.dns.start(records);
        break;
      } catch (e) {
        await this.dns.stop();
        if (attempt === 5) throw e;
      }
    }
    const config = path.join(this.dir, 'trackrelay.yaml');
    fs.writeFileSync(config, [
      'tracking:',
      `  system_domain: ${SYSTEM_DOMAIN}`,
      '  senders: any',  // mail from any domain is tracked (the test sends before declaring)
      '  keys: [{id: k1, secret: "dashboard-e2e-secret-0123456789abcdefghijklmnop"}]',
      ...(fileDomains || []).map((d, i) => (i === 0 ? '  tracking_domains:\n' : '') + `    - {domain: ${d}}`),
      `relay: {listen: '127.0.0.1:0', upstream: 'maildir:${this.outbox}'}`,
      "track: {listen: '127.0.0.1:0'}",
      "api: {listen: '127.0.0.1:0', store_poll_ms: 100}",
      `dashboard: {admin_password_hash: '${passwordHash(adminPassword)}'}`,
      `dns: {resolvers: ['127.0.0.1:${this.dns.port}'], timeout_ms: 1000, reverify_interval: 0,`,
      '      allow_private_addresses: true}',  // the webhook receiver is on loopback
      'webhooks: {retry_base_ms: 500, timeout_ms: 2000}',
      `store: '${path.join(this.dir, 'store.db')}'`,
      '',
    ].join('\n'));
    const r = spawnSync(this.trackrelay, ['--config', config, 'keys', 'create', '--label', 'e2e'],
                        {encoding: 'utf8'});
    if (r.status !== 0) throw new Error('keys create failed: ' + r.stderr);
    this.key = r.stdout.trim();
    this.serveProc = new Serve(this.trackrelay, config);
    await this.serveProc.waitFor(/trackrelay: serving/);
    this.ports = this.serveProc.ports();
    this.origin = `http://127.0.0.1:${this.ports.api}`;
  }

  // Sends one HTML message through the relay; returns the tracked link of
  // its first <a> (what the recipient would click).
  sendMail({from, linkName, url, campaign}) {
    const script = `
import glob, os, re, smtplib, sys, email
port, outbox, sender, name, url, campaign = sys.argv[1:7]
before = set(glob.glob(os.path.join(outbox, "new", "*")))
msg = ("From: %s\\r\\nTo: alice@example.net\\r\\nSubject: Spring sale\\r\\n"
       "Message-ID: <e2e-1@example.com>\\r\\n"
       'X-MSYS-API: {"campaign_id": "%s"}\\r\\nContent-Type: text/html; charset=utf-8\\r\\n\\r\\n'
       '<html><body><p>Hello</p><a href="%s" data-msys-linkname="%s">Shop now</a></body></html>\\r\\n'
       % (sender, campaign, url, name))
with smtplib.SMTP("127.0.0.1", int(port), timeout=30) as s:
    s.sendmail(sender, ["alice@example.net"], msg)
new = set(glob.glob(os.path.join(outbox, "new", "*"))) - before
assert len(new) == 1, new
body = email.message_from_bytes(open(new.pop(), "rb").read()).get_payload(decode=True).decode()
print(re.search(r'href="(https?://[^"]+/f/[^"]+)"', body).group(1))
`;
    const r = spawnSync('python3', ['-c', script, String(this.ports.relay), this.outbox, from,
                                    linkName, url, campaign], {encoding: 'utf8'});
    if (r.status !== 0) throw new Error('sending through the relay failed: ' + r.stderr);
    return r.stdout.trim();
  }

  // GET `link` from the tracker on 127.0.0.1 with the link's own Host.
  follow(link) {
    const u = new URL(link);
    return new Promise((resolve, reject) => {
      const req = http.request({host: '127.0.0.1', port: this.ports.track, path: u.pathname + u.search,
                                headers: {Host: u.host, 'User-Agent': 'dashboard-e2e'}}, (res) => {
        res.resume();
        res.on('end', () => resolve({status: res.statusCode, location: res.headers.location}));
      });
      req.on('error', reject);
      req.end();
    });
  }

  // A raw request to the API listener (headers checked by the test).
  request(method, p, headers = {}, body) {
    return new Promise((resolve, reject) => {
      const req = http.request({host: '127.0.0.1', port: this.ports.api, path: p, method, headers}, (res) => {
        let data = '';
        res.on('data', (c) => { data += c; });
        res.on('end', () => resolve({status: res.statusCode, headers: res.headers, body: data}));
      });
      req.on('error', reject);
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  async close() {
    if (this.serveProc) await this.serveProc.stop();
    if (this.dns) await this.dns.stop();
    fs.rmSync(this.dir, {recursive: true, force: true});
  }
}
