/**
 * The listener against slow and greedy clients (issue 10, "the server itself"): a slowloris
 * head is answered 408 and closed after headersTimeout, connections past the per-client and
 * total caps are refused, and other clients are answered meanwhile. Clients come from distinct
 * loopback source addresses (127.0.0.x), so "another client" is another address for the mirror.
 * Every wait ends on something the server does (a close, a response), never on a clock.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startFixtureUpstream, type FixtureUpstream } from '../helpers/fixture-upstream.js';
import { makeDataDir, removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';
import { publishRaw } from '../helpers/raw-fixture.js';
import { makeUpstreamPgpKey, type UpstreamPgpKey } from '../helpers/upstream-openpgp.js';

/** A raw connection from `from`, recording what the server sends and when it closes. */
function rawClient(url: string, from: string): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port), localAddress: from });
  let data = '';
  socket.setEncoding('latin1');
  socket.on('data', (d: string) => { data += d; });
  socket.on('error', () => { /* a refused socket may be reset: 'close' follows and is what we wait for */ });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve({ socket, received: () => data, closed }));
    socket.once('error', reject);
  });
}

/** A complete GET from `from` on its own connection; the status, or the error if the connection was refused. */
function getFrom(url: string, path: string, from: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { localAddress: from, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

async function counter(mirror: RunningMirror, reason: string): Promise<number> {
  const metric = await mirror.app.metrics.registry.getSingleMetric('countersign_http_connections_closed_total')?.get();
  return metric?.values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

describe('slowloris: a request head trickled byte by byte', () => {
  let mirror: RunningMirror;
  before(async () => {
    mirror = await startMirror({ listen: { host: '127.0.0.1', port: 0, headersTimeout: '1s', requestTimeout: '2s' }, repositories: [] });
  });
  after(async () => {
    await mirror.close();
    await removeDir(mirror.dataDir);
  });

  test('is answered 408 and closed by the server while a normal client is answered', { timeout: 30_000 }, async () => {
    const slow = await rawClient(mirror.url, '127.0.0.1');
    let serverClosed = false;
    void slow.closed.then(() => { serverClosed = true; });
    slow.socket.write('GET /-/health HTTP/1.1\r\nHost: mirror\r\n');
    // A header that never ends, one byte every 200 ms: only the server's deadline can end this loop
    // (maxHeaderSize would take over an hour at this rate).
    const trickle = (async () => {
      let sent = 0;
      while (!serverClosed) {
        slow.socket.write(sent === 0 ? 'X' : 'a');
        sent += 1;
        await sleep(200);
      }
      return sent;
    })();
    // Positive control, while the slow head is still open: another client is served.
    assert.equal(await getFrom(mirror.url, '/-/health', '127.0.0.2'), 200);
    assert.equal(serverClosed, false, 'the slow client is still connected while the other is served');
    await slow.closed;
    const sent = await trickle;
    assert.ok(sent > 0, 'the slow client was still sending its head');
    assert.match(slow.received(), /^HTTP\/1\.1 408 /, 'the server answered 408 Request Timeout before closing');
    assert.doesNotMatch(slow.received(), /"status":"ok"/, 'the slow request was never served');
  });
});

describe('connections per client', () => {
  let mirror: RunningMirror;
  before(async () => {
    mirror = await startMirror({ listen: { host: '127.0.0.1', port: 0, maxConnectionsPerClient: 2, maxConnections: 100 }, repositories: [] });
  });
  after(async () => {
    await mirror.close();
    await removeDir(mirror.dataDir);
  });

  test('a third connection from one address is refused; another address and the held connections are served', { timeout: 30_000 }, async () => {
    const held = [await rawClient(mirror.url, '127.0.0.3'), await rawClient(mirror.url, '127.0.0.3')];
    for (const h of held) h.socket.write('GET /-/health HTTP/1.1\r\nHost: mirror\r\n');
    const refused = await rawClient(mirror.url, '127.0.0.3');
    refused.socket.write('GET /-/health HTTP/1.1\r\nHost: mirror\r\nConnection: close\r\n\r\n');
    await refused.closed;
    assert.equal(refused.received(), '', 'the refused connection got no response at all');
    assert.equal(await counter(mirror, 'per-client'), 1);

    // Positive controls: another client is served, and so are the two held connections.
    assert.equal(await getFrom(mirror.url, '/-/health', '127.0.0.4'), 200);
    for (const h of held) h.socket.write('Connection: close\r\n\r\n');
    await Promise.all(held.map((h) => h.closed));
    for (const h of held) assert.match(h.received(), /^HTTP\/1\.1 200 /);
  });
});

describe('connections in all', () => {
  let mirror: RunningMirror;
  before(async () => {
    mirror = await startMirror({ listen: { host: '127.0.0.1', port: 0, maxConnections: 2, maxConnectionsPerClient: 2 }, repositories: [] });
  });
  after(async () => {
    await mirror.close();
    await removeDir(mirror.dataDir);
  });

  test('a connection past maxConnections is refused; once one closes, a new client is served', { timeout: 30_000 }, async () => {
    const held = [await rawClient(mirror.url, '127.0.0.5'), await rawClient(mirror.url, '127.0.0.6')];
    for (const h of held) h.socket.write('GET /-/health HTTP/1.1\r\nHost: mirror\r\n');
    const refused = await rawClient(mirror.url, '127.0.0.7');
    refused.socket.write('GET /-/health HTTP/1.1\r\nHost: mirror\r\nConnection: close\r\n\r\n');
    await refused.closed;
    assert.equal(refused.received(), '');
    assert.equal(await counter(mirror, 'max-connections'), 1);

    held[0]!.socket.write('Connection: close\r\n\r\n');
    await held[0]!.closed;
    assert.match(held[0]!.received(), /^HTTP\/1\.1 200 /);
    // The server counts the closed connection out when its own side closes; a few tries cover that.
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) status = await getFrom(mirror.url, '/-/health', '127.0.0.7').catch(() => 0);
    assert.equal(status, 200, 'a new client is served once a slot is free');
    held[1]!.socket.destroy();
  });
});

describe('a client that stops reading a response', () => {
  // Larger than what loopback socket buffers absorb for a client that does not read (tens of MiB at most).
  const SIZE = 64 * 1024 * 1024;
  let upstream: FixtureUpstream;
  let mirror: RunningMirror;
  let dataDir: string;
  let key: UpstreamPgpKey;
  before(async () => {
    key = await makeUpstreamPgpKey();
    [upstream, dataDir] = await Promise.all([startFixtureUpstream(), makeDataDir()]);
    await writeFile(join(dataDir, 'upstream.asc'), key.armoredPublic);
    await publishRaw(upstream, key, '/releases/big.bin', Buffer.alloc(SIZE, 7));
    mirror = await startMirror({
      dataDir,
      listen: { host: '127.0.0.1', port: 0, idleTimeout: '1s' },
      repositories: [{ name: 'files', format: 'raw', upstream: `${upstream.url}/releases`, trust: { keyring: 'upstream.asc' }, retries: 0 }],
    });
  });
  after(async () => {
    await mirror?.close();
    await upstream?.stop();
    await removeDir(dataDir);
  });

  test('is closed after idleTimeout without progress; a reading client gets the whole file', { timeout: 180_000 }, async (t) => {
    // Positive control (and the warm-up, so the stalled request is a plain hit): a client that reads gets every byte.
    const whole = await mirror.get('/files/big.bin');
    assert.equal((await whole.arrayBuffer()).byteLength, SIZE);

    const stalled = await rawClient(mirror.url, '127.0.0.8');
    stalled.socket.pause();
    stalled.socket.write('GET /files/big.bin HTTP/1.1\r\nHost: mirror\r\n\r\n');
    // The response fills the socket buffers and stops; only the server's idle timeout moves things on.
    let gone = false;
    void stalled.closed.then(() => { gone = true; });
    while (!gone && (await counter(mirror, 'idle')) === 0) await sleep(100);
    assert.equal(await counter(mirror, 'idle'), 1, 'the server closed the stalled connection for idleness');
    stalled.socket.resume();
    await stalled.closed;
    const received = Buffer.byteLength(stalled.received(), 'latin1');
    assert.match(stalled.received(), /^HTTP\/1\.1 200 /);
    // How much was still in flight depends on the kernel's loopback buffers, which autotune up to
    // tcp_rmem + tcp_wmem and, under load, have held the whole file: the proof is the server's own
    // idle close above, not the byte count.
    t.diagnostic(`stalled client received ${received} of ${SIZE} bytes before the idle close`);
  });

  test('the wait for a slow upstream before the first byte is not idleness: the client is answered', { timeout: 120_000 }, async () => {
    await publishRaw(upstream, key, '/releases/slow.bin', 'slow but fine\n');
    // Headers 2.5 s late, while the client's socket sees nothing for more than idleTimeout (1 s).
    upstream.setMode('/releases/slow.bin', { slowMs: 2500 }, { times: 1 });
    const before = await counter(mirror, 'idle');
    assert.equal(await getFrom(mirror.url, '/files/slow.bin', '127.0.0.9'), 200);
    assert.equal(await counter(mirror, 'idle'), before, 'the waiting client was not cut off');
  });
});

describe('listen limits in the config', () => {
  test('are validated: no zero timeout, no per-client cap above the total', async () => {
    const { parseConfig } = await import('../../src/config/load-config.js');
    const parse = (listen: Record<string, unknown>) => () => parseConfig(JSON.stringify({ listen }), { file: 'test.yaml', formats: new Map(), env: {}, cwd: '/' });
    assert.throws(parse({ headersTimeout: '0s' }), /listen\.headersTimeout/);
    assert.throws(parse({ maxConnections: 10, maxConnectionsPerClient: 20 }), /listen\.maxConnectionsPerClient/);
    assert.throws(parse({ headersTimeout: '2m', requestTimeout: '1m' }), /listen\.headersTimeout/);
    const ok = parse({ headersTimeout: '5s', maxConnections: 10, maxConnectionsPerClient: 5 })();
    assert.equal(ok.listen.headersTimeout, 5000);
    assert.equal(ok.listen.maxConnectionsPerClient, 5);
    assert.equal(ok.listen.idleTimeout, 120_000, 'defaults fill what is not given');
  });
});
