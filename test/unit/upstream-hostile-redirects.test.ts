/**
 * Issue 10, hostile network input: redirects and Bearer challenges chosen by an upstream (or
 * anything on the path to it) must not carry the mirror's credentials elsewhere, nor point
 * it at internal services. Three fixture servers on 127.0.0.1: different ports are
 * different origins, so A -> B is cross-origin exactly as registry -> attacker would be.
 * C also runs HTTPS, because the old client sent Basic credentials to any https realm.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { after, afterEach, before, describe, it } from 'node:test';
import { isMirrorError, type MirrorError } from '../../src/errors.js';
import { FsBlobStore } from '../../src/store/fs-blob-store.js';
import { UpstreamClient, type UpstreamClientOptions } from '../../src/upstream/upstream-client.js';
import { startFixtureUpstream, type FixtureUpstream } from '../helpers/fixture-upstream.js';

const MB = 1024 * 1024;
const BASIC = `Basic ${Buffer.from('alice:s3cret').toString('base64')}`;

let a: FixtureUpstream; // the configured upstream
let b: FixtureUpstream; // where A redirects (a CDN, or an attacker's host)
let c: FixtureUpstream; // a realm someone else named (plain http)
let cTls: { server: Server; url: string; log: { path: string; headers: IncomingHttpHeaders }[] }; // the same over https
let dir: string;
let store: FsBlobStore;
const clients: UpstreamClient[] = [];
const realConnect = tls.connect;

function client(opts: Partial<UpstreamClientOptions> = {}): UpstreamClient {
  const base = new URL(a.url);
  base.username = 'alice';
  base.password = 's3cret';
  const made = new UpstreamClient({ baseUrl: base.toString(), repository: 'test', retries: 0, ...opts });
  clients.push(made);
  return made;
}

async function fetchText(cl: UpstreamClient, path: string, extra: { namedBySha256?: string } = {}): Promise<string> {
  const r = await cl.fetch({ path, maxBytes: MB, ...extra }, () => store.createTemp());
  assert.equal(r.kind, 'fetched');
  if (r.kind !== 'fetched') return '';
  await r.body.finish();
  const chunks: Buffer[] = [];
  for await (const chunk of r.body.read()) chunks.push(chunk as Buffer);
  await r.body.abort();
  return Buffer.concat(chunks).toString();
}

async function refused(promise: Promise<unknown>): Promise<MirrorError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(isMirrorError(err), `expected a MirrorError, got ${String(err)}`);
    assert.equal(err.code, 'UPSTREAM_BAD_STATUS', err.message);
    assert.equal(err.details.repository, 'test');
    assert.ok(!JSON.stringify(err).includes('s3cret') && !err.message.includes('s3cret'));
    return err;
  }
  assert.fail('expected the request to be refused');
}

/** A registry-style token endpoint: 200 with a token only for the right Basic credentials. */
function tokenEndpoint(f: FixtureUpstream): void {
  f.setHandler('/token', (req, res) => {
    const ok = req.headers.authorization === BASIC;
    res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
    res.end(ok ? JSON.stringify({ token: 'tok-good', expires_in: 300 }) : '{}');
  });
}

/** A path behind token auth on `f`, challenging with `realm`. */
function protectedPath(f: FixtureUpstream, path: string, realm: string, body = 'the manifest'): void {
  f.setHandler(path, (req, res) => {
    if (req.headers.authorization === 'Bearer tok-good') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
      res.end(body);
      return;
    }
    res.writeHead(401, { 'www-authenticate': `Bearer realm="${realm}",service="fixture",scope="repository:x:pull"`, 'content-length': '0' });
    res.end();
  });
}

before(async () => {
  [a, b, c] = await Promise.all([startFixtureUpstream(), startFixtureUpstream(), startFixtureUpstream()]);
  dir = await mkdtemp(join(tmpdir(), 'countersign-hostile-'));
  store = await FsBlobStore.open(join(dir, 'blobs'));
  // A self-signed certificate for 127.0.0.1 that this process trusts for 127.0.0.1 only.
  await promisify(execFile)('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'c.key'), '-out', join(dir, 'c.pem'),
  ]);
  const [cert, key] = await Promise.all([readFile(join(dir, 'c.pem')), readFile(join(dir, 'c.key'))]);
  // undici calls tls.connect on the module object, so the fixture CA is added here without a
  // test-only option in the client; other hosts keep the default trust store.
  (tls as { connect: typeof tls.connect }).connect = ((options: tls.ConnectionOptions, ...rest: unknown[]) =>
    (realConnect as (...args: unknown[]) => tls.TLSSocket)(options?.host === '127.0.0.1' ? { ...options, ca: cert } : options, ...rest)) as typeof tls.connect;
  const log: { path: string; headers: IncomingHttpHeaders }[] = [];
  const server = createServer({ cert, key }, (req, res) => {
    log.push({ path: req.url ?? '', headers: { ...req.headers } });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ token: 'tok-good', expires_in: 300 }));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  cTls = { server, url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, log };
});

afterEach(async () => {
  for (const f of [a, b, c]) {
    f.clearModes();
    f.resetCounts();
    for (const p of ['/token', '/v2/x/manifests/1', '/blob', '/file']) f.setHandler(p, undefined);
  }
  cTls.log.length = 0;
  await Promise.all(clients.splice(0).map((cl) => cl.close()));
});

after(async () => {
  (tls as { connect: typeof tls.connect }).connect = realConnect;
  await Promise.all([a.stop(), b.stop(), c.stop(), new Promise((ok) => cTls.server.close(ok))]);
  await rm(dir, { recursive: true, force: true });
});

describe('Bearer challenges and token realms', () => {
  it('a redirect target cannot name the realm: C never sees the credentials, nor any request', async () => {
    a.setMode('/v2/x/manifests/1', { redirect: `${b.url}/v2/x/manifests/1` });
    protectedPath(b, '/v2/x/manifests/1', `${cTls.url}/token`);
    const outcome = client({ redirectOrigins: [b.url] }).fetch({ path: 'v2/x/manifests/1', maxBytes: MB }, () => store.createTemp());
    const err = await refused(outcome);
    const seen = cTls.log.map((e) => `${e.path} authorization=${String(e.headers['authorization'])}`);
    assert.equal(seen.length, 0, `the realm B named was contacted: ${seen.join('; ')}`);
    assert.equal(err.details.status, 401, 'the challenge from B is not answered: its 401 is the answer');
    assert.equal(b.requests('/v2/x/manifests/1'), 1);
    assert.equal(b.log[0]?.headers['authorization'], undefined, 'credentials do not follow the redirect');
  });

  it('the same when the redirect was not even allowlisted: refused before B is asked', async () => {
    a.setMode('/v2/x/manifests/1', { redirect: `${b.url}/v2/x/manifests/1` });
    protectedPath(b, '/v2/x/manifests/1', `${cTls.url}/token`);
    const err = await refused(client().fetch({ path: 'v2/x/manifests/1', maxBytes: MB }, () => store.createTemp()));
    assert.equal(err.details.reason, 'redirect-refused');
    assert.equal(b.requests(), 0);
    assert.equal(cTls.log.length, 0);
  });

  it('a realm the upstream names on an internal address elsewhere is not fetched (blind SSRF)', async () => {
    protectedPath(a, '/v2/x/manifests/1', `${c.url}/token`);
    tokenEndpoint(c);
    const outcome = client().fetch({ path: 'v2/x/manifests/1', maxBytes: MB }, () => store.createTemp());
    await outcome.catch(() => undefined);
    assert.equal(c.requests(), 0, 'the realm was contacted');
    const err = await refused(outcome);
    assert.equal(err.details.reason, 'realm-refused');
  });

  it('an https realm on another origin gets no credentials unless the operator lists it', async () => {
    protectedPath(a, '/v2/x/manifests/1', `${cTls.url}/token`);
    // Not listed: the realm is on a loopback address, so it is not contacted at all.
    await refused(client().fetch({ path: 'v2/x/manifests/1', maxBytes: MB }, () => store.createTemp()));
    assert.equal(cTls.log.length, 0);
    // Listed: C gets the credentials and the pull works.
    assert.equal(await fetchText(client({ credentialOrigins: [cTls.url] }), 'v2/x/manifests/1'), 'the manifest');
    assert.equal(cTls.log.length, 1);
    assert.equal(cTls.log[0]?.headers['authorization'], BASIC);
  });

  it('positive control: a realm on the upstream\'s own origin gets the credentials and the pull works', async () => {
    protectedPath(a, '/v2/x/manifests/1', `${a.url}/token`);
    tokenEndpoint(a);
    assert.equal(await fetchText(client(), 'v2/x/manifests/1'), 'the manifest');
    assert.equal(a.log.find((e) => e.path.startsWith('/token'))?.headers['authorization'], BASIC);
  });

  it('positive control: a listed plain-http realm elsewhere gets the credentials too', async () => {
    protectedPath(a, '/v2/x/manifests/1', `${c.url}/token`);
    tokenEndpoint(c);
    assert.equal(await fetchText(client({ credentialOrigins: [c.url] }), 'v2/x/manifests/1'), 'the manifest');
    assert.equal(c.requests('/token'), 1);
  });
});

describe('redirect policy', () => {
  it('a cross-origin redirect to a loopback service is refused and its body never fetched', async () => {
    b.setFile('/internal', 'admin console');
    a.setMode('/file', { redirect: `${b.url}/internal` });
    const err = await refused(client().fetch({ path: 'file', maxBytes: MB }, () => store.createTemp()));
    assert.equal(err.details.reason, 'redirect-refused');
    assert.equal(err.details.target, b.url);
    assert.equal(b.requests(), 0);
  });

  it('even for an object named by its digest, a loopback target is refused', async () => {
    b.setFile('/blob', 'blob bytes');
    a.setMode('/blob', { redirect: `${b.url}/blob` });
    const err = await refused(client().fetch({ path: 'blob', maxBytes: MB, namedBySha256: 'a'.repeat(64) }, () => store.createTemp()));
    assert.equal(err.details.reason, 'redirect-refused');
    assert.equal(b.requests(), 0);
  });

  it('a DNS name that resolves to 127.0.0.1 is refused at connect time, not retried', async () => {
    b.setFile('/blob', 'blob bytes');
    a.setMode('/blob', { redirect: `http://cdn.upstream.example:${b.port}/blob` });
    let lookups = 0;
    const resolver: UpstreamClientOptions['resolver'] = (_host, _opts, cb) => {
      lookups++;
      cb(null, [{ address: '127.0.0.1', family: 4 }]);
    };
    const err = await refused(client({ resolver, retries: 2 }).fetch({ path: 'blob', maxBytes: MB, namedBySha256: 'a'.repeat(64) }, () => store.createTemp()));
    assert.equal(err.details.reason, 'non-public-address');
    assert.match(err.message, /loopback address 127\.0\.0\.1/);
    assert.equal(lookups, 1, 'not retried');
    assert.equal(b.requests(), 0);
  });

  it('positive control: same-origin redirects keep the credentials; an allowlisted origin is followed without them', async () => {
    a.setFile('/here', 'same origin');
    a.setMode('/file', { redirect: '/here' });
    assert.equal(await fetchText(client(), 'file'), 'same origin');
    assert.equal(a.log.find((e) => e.path === '/here')?.headers['authorization'], BASIC);

    b.setFile('/cdn/blob', 'from the allowlisted cdn');
    a.setMode('/blob', { redirect: `${b.url}/cdn/blob` });
    assert.equal(await fetchText(client({ redirectOrigins: [b.url] }), 'blob'), 'from the allowlisted cdn');
    assert.equal(b.log.at(-1)?.headers['authorization'], undefined);
  });

  it('an https -> http downgrade of the same host is another origin', async () => {
    // The allowlist names the https origin; the http one is still refused.
    b.setFile('/x', 'x');
    a.setMode('/file', { redirect: `${b.url}/x` });
    await refused(client({ redirectOrigins: [b.url.replace('http:', 'https:')] }).fetch({ path: 'file', maxBytes: MB }, () => store.createTemp()));
    assert.equal(b.requests(), 0);
  });
});

describe('bounded token state', () => {
  it('flooding distinct image names keeps the token and challenge maps at their bound', async () => {
    // Every image name gets its own scope, as an upstream (or clients asking for random names) can arrange.
    let issued = 0;
    a.setHandler('/token', (req, res) => {
      issued++;
      const scope = new URL(req.url ?? '/', 'http://x').searchParams.get('scope') ?? '';
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ token: `tok:${scope}`, expires_in: 300 }));
    });
    const names = Array.from({ length: 600 }, (_, i) => `flood/img${i}`);
    for (const name of names) {
      const path = `/v2/${name}/manifests/1`;
      a.setHandler(path, (req, res) => {
        if (req.headers.authorization === `Bearer tok:repository:${name}:pull`) {
          res.writeHead(200, { 'content-length': '2' });
          res.end('ok');
          return;
        }
        res.writeHead(401, { 'www-authenticate': `Bearer realm="${a.url}/token",service="fixture",scope="repository:${name}:pull"`, 'content-length': '0' });
        res.end();
      });
    }
    const cl = client({ tokenBounds: { tokens: 50, challenges: 80 } });
    for (let i = 0; i < names.length; i += 20) {
      await Promise.all(names.slice(i, i + 20).map(async (name) => assert.equal(await fetchText(cl, `v2/${name}/manifests/1`), 'ok')));
    }
    assert.equal(issued, names.length, 'every scope was really challenged and answered');
    assert.deepEqual(cl.tokenCacheSize, { tokens: 50, challenges: 80, inFlight: 0 });
    // Still correct after eviction: an evicted name is challenged again and works.
    assert.equal(await fetchText(cl, `v2/${names[0]}/manifests/1`), 'ok');
    for (const name of names) a.setHandler(`/v2/${name}/manifests/1`, undefined);
  });
});
