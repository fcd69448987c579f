import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { isMirrorError, MirrorError } from '../../src/errors.js';
import { FsBlobStore } from '../../src/store/fs-blob-store.js';
import type { TempBlob } from '../../src/store/types.js';
import { SingleFlight } from '../../src/upstream/single-flight.js';
import { UpstreamClient, type UpstreamClientOptions, type UpstreamRequestInfo } from '../../src/upstream/upstream-client.js';
import { startFixtureUpstream, type FixtureUpstream } from '../helpers/fixture-upstream.js';

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
const MB = 1024 * 1024;

let up: FixtureUpstream;
let other: FixtureUpstream;
let dir: string;
let store: FsBlobStore;
const clients: UpstreamClient[] = [];

function client(opts: Partial<UpstreamClientOptions> = {}): UpstreamClient {
  const c = new UpstreamClient({ baseUrl: up.url, repository: 'test', backoff: { baseMs: 5, capMs: 20 }, ...opts });
  clients.push(c);
  return c;
}

/** Counts temps handed out, so tests can tell whether the store was touched at all. */
function temps(): { create: () => Promise<TempBlob>; created: number } {
  const t = {
    created: 0,
    create: async (): Promise<TempBlob> => {
      t.created++;
      return store.createTemp();
    },
  };
  return t;
}

async function tempFiles(): Promise<string[]> {
  const names: string[] = [];
  for await (const name of store.listTemp()) names.push(name);
  return names;
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<MirrorError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(isMirrorError(err), `expected a MirrorError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.equal(err.details.repository, 'test');
    return err;
  }
  assert.fail(`expected ${code}`);
}

function drainOrClose(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done).off('close', done);
      resolve();
    };
    res.on('drain', done).on('close', done);
  });
}

async function readAll(temp: TempBlob): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of temp.read()) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

before(async () => {
  up = await startFixtureUpstream();
  other = await startFixtureUpstream();
  dir = await mkdtemp(join(tmpdir(), 'countersign-upstream-'));
  store = await FsBlobStore.open(join(dir, 'blobs'));
});

afterEach(async () => {
  up.clearModes();
  other.clearModes();
  up.resetCounts();
  other.resetCounts();
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

after(async () => {
  await Promise.all([up.stop(), other.stop()]);
  await rm(dir, { recursive: true, force: true });
});

describe('UpstreamClient.fetch', () => {
  it('streams a 200 into a temp blob with the right digest and size', async () => {
    const bytes = Buffer.alloc(3 * MB + 7, 'abc');
    up.setFile('/pool/a.bin', bytes, { contentType: 'application/x-test' });
    const result = await client().fetch({ path: 'pool/a.bin', maxBytes: 10 * MB }, () => store.createTemp());
    assert.equal(result.kind, 'fetched');
    if (result.kind !== 'fetched') return;
    const stat = await result.body.finish();
    assert.deepEqual(stat, { sha256: sha256(bytes), size: bytes.length });
    assert.ok((await readAll(result.body)).equals(bytes));
    assert.equal(result.contentType, 'application/x-test');
    assert.match(result.etag ?? '', /^"[0-9a-f]{16}"$/);
    assert.ok(result.lastModified);
    assert.equal(result.url, `${up.url}/pool/a.bin`);
    await result.body.commit();
    assert.equal(await store.rehash(stat.sha256), stat.sha256);
  });

  it('sends validators and Accept, and returns not-modified on 304', async () => {
    up.setFile('/index.json', '{"a":1}');
    const c = client();
    const first = await c.fetch({ path: '/index.json', maxBytes: MB }, () => store.createTemp());
    assert.equal(first.kind, 'fetched');
    if (first.kind !== 'fetched') return;
    await first.body.abort();

    const byEtag = await c.fetch({ path: '/index.json', maxBytes: MB, accept: 'application/json', validators: { etag: first.etag } }, () => store.createTemp());
    assert.deepEqual(byEtag, { kind: 'not-modified', etag: first.etag, lastModified: first.lastModified });
    const sent = up.log.at(-1)?.headers;
    assert.equal(sent?.['if-none-match'], first.etag);
    assert.equal(sent?.['accept'], 'application/json');

    const t = temps();
    const byDate = await c.fetch({ path: '/index.json', maxBytes: MB, validators: { lastModified: first.lastModified } }, t.create);
    assert.equal(byDate.kind, 'not-modified');
    assert.equal(t.created, 0);
  });

  it('returns absent for 404 and 410 without retrying', async () => {
    const c = client();
    assert.deepEqual(await c.fetch({ path: 'missing', maxBytes: MB }, () => store.createTemp()), { kind: 'absent', status: 404 });
    up.setMode('/gone', { status: 410 });
    assert.deepEqual(await c.fetch({ path: 'gone', maxBytes: MB }, () => store.createTemp()), { kind: 'absent', status: 410 });
    assert.equal(up.requests(), 2);
  });

  it('fails other 4xx with UPSTREAM_BAD_STATUS and does not retry', async () => {
    up.setFile('/secret', 'x');
    up.setMode('/secret', { status: 403 });
    const err = await rejectsWith(client().fetch({ path: 'secret', maxBytes: MB }, () => store.createTemp()), 'UPSTREAM_BAD_STATUS');
    assert.equal(err.details.status, 403);
    assert.equal(err.details.object, 'secret');
    assert.equal(up.requests('/secret'), 1);
  });

  it('retries a 500 and succeeds on the second request', async () => {
    up.setFile('/flaky', 'hello');
    up.setMode('/flaky', { status: 500 }, { times: 1 });
    const result = await client().fetch({ path: 'flaky', maxBytes: MB }, () => store.createTemp());
    assert.equal(result.kind, 'fetched');
    assert.equal(up.requests('/flaky'), 2);
    if (result.kind === 'fetched') await result.body.abort();
  });

  it('gives up with UPSTREAM_UNAVAILABLE once retries are exhausted', async () => {
    up.setFile('/down', 'hello');
    up.setMode('*', { status: 503 });
    const err = await rejectsWith(client({ retries: 2 }).fetch({ path: 'down', maxBytes: MB }, () => store.createTemp()), 'UPSTREAM_UNAVAILABLE');
    assert.equal(err.details.status, 503);
    assert.equal(err.details.upstream, `${up.url}/down`);
    assert.equal(up.requests('/down'), 3);
  });

  it('retries a reset connection', async () => {
    up.setFile('/reset', 'after reset');
    up.setMode('/reset', 'reset', { times: 1 });
    const result = await client().fetch({ path: 'reset', maxBytes: MB }, () => store.createTemp());
    assert.equal(result.kind, 'fetched');
    assert.equal(up.requests('/reset'), 2);
    if (result.kind === 'fetched') await result.body.abort();

    up.setMode('/reset', 'reset');
    await rejectsWith(client({ retries: 1 }).fetch({ path: 'reset', maxBytes: MB }, () => store.createTemp()), 'UPSTREAM_UNAVAILABLE');
  });

  // undici checks header/body timeouts on a ~0.5 s tick, so the upstream is made much slower.
  it('times out slow headers with UPSTREAM_TIMEOUT', async () => {
    up.setFile('/slow', 'late');
    up.setMode('/slow', { slowMs: 4000 });
    const c = client({ retries: 1, timeouts: { headersMs: 100 } });
    const started = Date.now();
    await rejectsWith(c.fetch({ path: 'slow', maxBytes: MB }, () => store.createTemp()), 'UPSTREAM_TIMEOUT');
    assert.ok(Date.now() - started < 3500, 'did not wait for the slow upstream');
    assert.equal(up.requests('/slow'), 2);
  });

  it('times out a stalled body with UPSTREAM_TIMEOUT and discards the temp', async () => {
    up.setFile('/trickle', Buffer.alloc(64, 1));
    up.setMode('/trickle', { trickleMs: 3000, chunkBytes: 16 });
    const before = await tempFiles();
    const t = temps();
    await rejectsWith(client({ retries: 0, timeouts: { bodyMs: 100 } }).fetch({ path: 'trickle', maxBytes: MB }, t.create), 'UPSTREAM_TIMEOUT');
    assert.equal(t.created, 1);
    assert.deepEqual(await tempFiles(), before);
  });

  it('aborts with UPSTREAM_TOO_LARGE as soon as a streamed body exceeds maxBytes', async () => {
    // No Content-Length: the limit must be enforced while streaming.
    let sent = 0;
    up.setHandler('/endless', async (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024, 7);
      while (!res.destroyed && sent < 64 * MB) {
        sent += chunk.length;
        if (!res.write(chunk)) await drainOrClose(res);
      }
      res.end();
    });
    const before = await tempFiles();
    const t = temps();
    const err = await rejectsWith(client().fetch({ path: 'endless', maxBytes: MB }, t.create), 'UPSTREAM_TOO_LARGE');
    assert.equal(err.details.limit, MB);
    assert.equal(t.created, 1);
    assert.deepEqual(await tempFiles(), before, 'temp file removed');
    assert.ok(sent < 16 * MB, `stopped reading early (server wrote ${sent} bytes)`);
    assert.equal(up.requests('/endless'), 1, 'not retried');
  });

  it('refuses an announced Content-Length over maxBytes without creating a temp', async () => {
    up.setFile('/big', Buffer.alloc(2048));
    const t = temps();
    await rejectsWith(client().fetch({ path: 'big', maxBytes: 1024 }, t.create), 'UPSTREAM_TOO_LARGE');
    assert.equal(t.created, 0);
  });

  it('fails a truncated body with UPSTREAM_TRUNCATED after retrying', async () => {
    up.setFile('/cut', Buffer.alloc(100 * 1024, 3));
    up.setMode('/cut', 'truncate');
    const before = await tempFiles();
    await rejectsWith(client({ retries: 1 }).fetch({ path: 'cut', maxBytes: MB }, () => store.createTemp()), 'UPSTREAM_TRUNCATED');
    assert.equal(up.requests('/cut'), 2);
    assert.deepEqual(await tempFiles(), before);
  });

  it('joins paths under a base path prefix and refuses to escape it', async () => {
    up.setFile('/mirror/root/a/b.txt', 'prefixed');
    const c = client({ baseUrl: `${up.url}/mirror/root` });
    const result = await c.fetch({ path: 'a/b.txt', maxBytes: MB }, () => store.createTemp());
    assert.equal(result.kind, 'fetched');
    if (result.kind === 'fetched') await result.body.abort();
    assert.equal(up.log.at(-1)?.path, '/mirror/root/a/b.txt');
    for (const path of ['../x', 'a/../../x', '%2e%2e/x', '//evil.example/x/../../..']) {
      await assert.rejects(c.fetch({ path, maxBytes: MB }, () => store.createTemp()), (err: unknown) => isMirrorError(err) && err.code === 'BAD_PATH');
    }
    assert.equal(up.requests(), 1);
  });

  it('reports every exchange to onRequest and logs through a pino logger', async () => {
    up.setFile('/m', 'metrics');
    up.setMode('/m', { status: 502 }, { times: 1 });
    const seen: UpstreamRequestInfo[] = [];
    const c = client({ onRequest: (i) => seen.push(i), logger: pino({ level: 'silent' }) });
    const result = await c.fetch({ path: 'm', maxBytes: MB }, () => store.createTemp());
    if (result.kind === 'fetched') await result.body.abort();
    assert.deepEqual(
      seen.map((i) => [i.method, i.url, i.status, i.outcome]),
      [
        ['GET', `${up.url}/m`, 502, 'server-error'],
        ['GET', `${up.url}/m`, 200, 'fetched'],
      ],
    );
  });

  it('fails with UPSTREAM_UNAVAILABLE while the upstream is down and recovers after restart', async () => {
    up.setFile('/x', 'back');
    const c = client({ retries: 1 });
    await up.stop();
    try {
      await rejectsWith(c.fetch({ path: 'x', maxBytes: MB }, () => store.createTemp()), 'UPSTREAM_UNAVAILABLE');
    } finally {
      await up.restart();
    }
    const result = await c.fetch({ path: 'x', maxBytes: MB }, () => store.createTemp());
    assert.equal(result.kind, 'fetched');
    if (result.kind === 'fetched') await result.body.abort();
  });

  it('fixture tamper mode changes the bytes but not the headers', async () => {
    const bytes = Buffer.from('the genuine artifact');
    up.setFile('/t.bin', bytes);
    const c = client();
    const clean = await c.fetch({ path: 't.bin', maxBytes: MB }, () => store.createTemp());
    up.setMode('/t.bin', 'tamper');
    const tampered = await c.fetch({ path: 't.bin', maxBytes: MB }, () => store.createTemp());
    assert.ok(clean.kind === 'fetched' && tampered.kind === 'fetched');
    assert.equal(tampered.etag, clean.etag);
    assert.equal((await clean.body.finish()).sha256, sha256(bytes));
    const stat = await tampered.body.finish();
    assert.equal(stat.size, bytes.length);
    assert.notEqual(stat.sha256, sha256(bytes));
    await Promise.all([clean.body.abort(), tampered.body.abort()]);
  });

  it('rejects requests after close()', async () => {
    const c = client();
    await c.close();
    await rejectsWith(c.fetch({ path: 'x', maxBytes: MB }, () => store.createTemp()), 'UPSTREAM_UNAVAILABLE');
  });
});

describe('UpstreamClient redirects and credentials', () => {
  it('follows redirects up to maxRedirects, then fails with UPSTREAM_TOO_MANY_REDIRECTS', async () => {
    up.setFile('/final', 'arrived');
    up.setMode('/start', { redirect: '/middle' });
    up.setMode('/middle', { redirect: `${up.url}/final`, status: 301 });
    const result = await client({ maxRedirects: 2 }).fetch({ path: 'start', maxBytes: MB }, () => store.createTemp());
    assert.equal(result.kind, 'fetched');
    if (result.kind === 'fetched') {
      assert.equal(result.url, `${up.url}/final`);
      await result.body.abort();
    }

    up.setMode('/loop', { redirect: '/loop' });
    up.resetCounts();
    await rejectsWith(client({ maxRedirects: 3 }).fetch({ path: 'loop', maxBytes: MB }, () => store.createTemp()), 'UPSTREAM_TOO_MANY_REDIRECTS');
    assert.equal(up.requests('/loop'), 4, 'the first request plus three followed redirects, no retries');
  });

  it('sends Authorization on the same origin but never to another origin', async () => {
    up.setFile('/here', 'same origin');
    other.setFile('/there', 'other origin');
    up.setMode('/a', { redirect: '/here' });
    up.setMode('/b', { redirect: `${other.url}/there` });
    // A cross-origin redirect is followed only to an allowlisted origin (see upstream-hostile-redirects.test.ts).
    const c = client({ credentials: { token: 's3cret-token' }, redirectOrigins: [other.url] });

    for (const path of ['a', 'b']) {
      const r = await c.fetch({ path, maxBytes: MB }, () => store.createTemp());
      assert.equal(r.kind, 'fetched');
      if (r.kind === 'fetched') await r.body.abort();
    }
    const auth = (f: FixtureUpstream, p: string): unknown => f.log.find((e) => e.path === p)?.headers['authorization'];
    assert.equal(auth(up, '/a'), 'Bearer s3cret-token');
    assert.equal(auth(up, '/here'), 'Bearer s3cret-token');
    assert.equal(auth(up, '/b'), 'Bearer s3cret-token');
    assert.equal(other.requests('/there'), 1);
    assert.equal(auth(other, '/there'), undefined);
  });

  it('uses userinfo from the base URL as Basic auth and never echoes it', async () => {
    up.setFile('/basic', 'ok');
    up.setMode('/fail', { status: 500 });
    const base = new URL(up.url);
    base.username = 'alice';
    base.password = 'pa:ss@word';
    const c = client({ baseUrl: base.toString(), retries: 0 });
    const r = await c.fetch({ path: 'basic', maxBytes: MB }, () => store.createTemp());
    assert.equal(r.kind, 'fetched');
    if (r.kind === 'fetched') {
      assert.ok(!r.url.includes('alice'));
      await r.body.abort();
    }
    assert.equal(up.log.at(-1)?.headers['authorization'], `Basic ${Buffer.from('alice:pa:ss@word').toString('base64')}`);
    assert.ok(!c.baseUrl.includes('alice'));

    const err = await rejectsWith(c.fetch({ path: 'fail', maxBytes: MB }, () => store.createTemp()), 'UPSTREAM_UNAVAILABLE');
    const text = JSON.stringify(err) + err.message + String(err.stack);
    assert.ok(!text.includes('alice') && !text.includes('pa:ss') && !text.includes('pa%3Ass'), text);
  });
});

describe('UpstreamClient.fetchSmall', () => {
  it('fetches into memory, reports absent and enforces the limit', async () => {
    up.setFile('/sig.asc', 'SIGNATURE', { contentType: 'text/plain' });
    const c = client();
    const r = await c.fetchSmall('sig.asc', 1024);
    assert.equal(r.kind, 'fetched');
    if (r.kind === 'fetched') {
      assert.equal(r.bytes.toString(), 'SIGNATURE');
      assert.equal(r.contentType, 'text/plain');
    }
    assert.deepEqual(await c.fetchSmall('nope.asc', 1024), { kind: 'absent', status: 404 });
    await rejectsWith(c.fetchSmall('sig.asc', 4), 'UPSTREAM_TOO_LARGE');
  });
});

describe('SingleFlight', () => {
  it('runs fn once for 100 concurrent callers and shares the value', async () => {
    const flight = new SingleFlight<string, { n: number }>();
    let calls = 0;
    const fn = async (): Promise<{ n: number }> => {
      calls++;
      await new Promise((r) => setTimeout(r, 20));
      return { n: calls };
    };
    const results = await Promise.all(Array.from({ length: 100 }, () => flight.run('k', fn)));
    assert.equal(calls, 1);
    assert.ok(results.every((r) => r === results[0]));
    assert.equal(flight.has('k'), false);
    await flight.run('k', fn);
    assert.equal(calls, 2, 'a settled key runs again');
  });

  it('shares a rejection (also a synchronous throw) and clears the key', async () => {
    const flight = new SingleFlight<string, number>();
    let calls = 0;
    const failing = async (): Promise<number> => {
      calls++;
      await new Promise((r) => setTimeout(r, 10));
      throw new Error('boom');
    };
    const settled = await Promise.allSettled(Array.from({ length: 10 }, () => flight.run('k', failing)));
    assert.equal(calls, 1);
    assert.ok(settled.every((s) => s.status === 'rejected' && (s.reason as Error).message === 'boom'));
    assert.equal(flight.size, 0);
    await assert.rejects(
      flight.run('k', () => {
        throw new Error('sync');
      }),
      /sync/,
    );
    assert.equal(await flight.run('k', async () => 42), 42);
  });

  it('keeps different keys independent', async () => {
    const flight = new SingleFlight<string, string>();
    const [a, b] = await Promise.all([flight.run('a', async () => 'A'), flight.run('b', async () => 'B')]);
    assert.deepEqual([a, b], ['A', 'B']);
  });
});
