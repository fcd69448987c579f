/**
 * The HTTPS listener keeps its certificate (issued by the org CA) across restarts in the key
 * directory, and issues a new one when hosts change or the CA rotates. Checked by the real
 * `openssl s_client` against the published CA and by node's TLS client; the Swift client setup
 * names the HTTPS URL.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { promisify } from 'node:util';
import { after, describe, test } from 'node:test';
import { persistentServerCertificate, RENEW_BEFORE_MS } from '../../src/keys/server-certificate-file.js';
import { freePort, makeDataDir, removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';

const run = promisify(execFile);

/** The certificate the listener presents (node TLS, no verification: only its identity). */
function presented(url: string): Promise<X509Certificate> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port), rejectUnauthorized: false, servername: 'localhost' }, () => {
      const cert = socket.getPeerX509Certificate();
      socket.end();
      if (cert) resolve(cert);
      else reject(new Error('no certificate presented'));
    });
    socket.once('error', reject);
  });
}

/** `openssl s_client` verifying the listener against a CA file, for a host name. */
async function sClient(url: string, caPem: string, dir: string, host: string): Promise<string> {
  const { port } = new URL(url);
  await writeFile(join(dir, 'ca-check.pem'), caPem);
  const { stdout } = await run('sh', ['-c', `echo | openssl s_client -connect 127.0.0.1:${port} -servername ${host} -verify_hostname ${host} -CAfile ${join(dir, 'ca-check.pem')} -verify_return_error 2>&1`]).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }));
  return stdout;
}

describe('https: a persistent server certificate', () => {
  const dirs: string[] = [];
  let mirror: RunningMirror | undefined;

  async function start(dataDir: string, hosts: string[]): Promise<RunningMirror> {
    await mirror?.close();
    const [port, httpsPort] = await Promise.all([freePort(), freePort()]);
    mirror = await startMirror({
      dataDir, publicUrl: `http://127.0.0.1:${port}`, listen: { port, https: { port: httpsPort, hosts } },
      repositories: [{ name: 'swift', format: 'swift', upstream: 'http://127.0.0.1:9', verify: 'warn', trust: {} }],
    });
    return mirror;
  }

  after(async () => {
    await mirror?.close();
    for (const d of dirs) await removeDir(d);
  });

  test('two starts on one data directory present the same certificate; openssl verifies it against the org CA', async () => {
    const dataDir = await makeDataDir();
    dirs.push(dataDir);
    const first = await start(dataDir, ['localhost', '127.0.0.1']);
    const a = await presented(first.httpsUrl!);
    const ca = await (await first.get('/-/keys/ca.pem')).text();
    const checked = await sClient(first.httpsUrl!, ca, dataDir, 'localhost');
    assert.match(checked, /Verify return code: 0 \(ok\)/, checked);
    const keyFile = join(dataDir, 'keys', 'tls', 'server.key');
    assert.equal((await stat(keyFile)).mode & 0o777, 0o600);
    const second = await start(dataDir, ['localhost', '127.0.0.1']);
    const b = await presented(second.httpsUrl!);
    assert.equal(b.fingerprint256, a.fingerprint256, 'the same certificate after a restart');
    // The Swift client setup points at the HTTPS listener.
    const setup = await (await second.get('/swift/-/setup')).text();
    assert.match(setup, new RegExp(`"url": "https://localhost:${new URL(second.httpsUrl!).port}/swift/"`));
  });

  test('changed hosts and a rotated CA each issue a new certificate, which openssl verifies against the CA of the day', async () => {
    const dataDir = await makeDataDir();
    dirs.push(dataDir);
    const first = await start(dataDir, ['localhost']);
    const a = await presented(first.httpsUrl!);
    const moreHosts = await start(dataDir, ['localhost', 'mirror.internal.example']);
    const b = await presented(moreHosts.httpsUrl!);
    assert.notEqual(b.fingerprint256, a.fingerprint256, 'hosts changed: issued again');
    assert.match(b.subjectAltName ?? '', /mirror\.internal\.example/);
    await moreHosts.app.keys.rotate('x509-ca');
    const rotated = await start(dataDir, ['localhost', 'mirror.internal.example']);
    const c = await presented(rotated.httpsUrl!);
    assert.notEqual(c.fingerprint256, b.fingerprint256, 'CA rotated: issued again');
    const caNow = new X509Certificate(await (await rotated.get('/-/keys/ca.pem')).text());
    assert.ok(c.checkIssued(caNow) && c.verify(caNow.publicKey), 'issued by the active CA');
    const checked = await sClient(rotated.httpsUrl!, caNow.toString(), dataDir, 'mirror.internal.example');
    assert.match(checked, /Verify return code: 0 \(ok\)/, checked);
    const again = await start(dataDir, ['localhost', 'mirror.internal.example']);
    assert.equal((await presented(again.httpsUrl!)).fingerprint256, c.fingerprint256, 'and kept from then on');
  });

  test('the stored key is encrypted under the key passphrase; near expiry or a torn pair issues anew', async () => {
    const dataDir = await makeDataDir();
    dirs.push(dataDir);
    const m = await start(dataDir, ['localhost']);
    const keyDir = await mkdtemp(join(tmpdir(), 'countersign-tls-'));
    dirs.push(keyDir);
    const args = { keyDir, hosts: ['localhost'], keys: m.app.keys, passphrase: 'correct horse' };
    const first = await persistentServerCertificate(args);
    assert.equal(first.outcome, 'issued: none stored');
    assert.match(await readFile(join(keyDir, 'tls', 'server.key'), 'utf8'), /BEGIN ENCRYPTED PRIVATE KEY/);
    const again = await persistentServerCertificate(args);
    assert.deepEqual([again.outcome, again.fingerprint256], ['reused', first.fingerprint256]);
    // A key it cannot open is no key: the pair is issued again (and replaced), never served half.
    const wrong = await persistentServerCertificate({ ...args, passphrase: 'wrong' });
    assert.equal(wrong.outcome, 'issued: stored files unusable');
    const current = await persistentServerCertificate({ ...args, passphrase: 'wrong' });
    assert.deepEqual([current.outcome, current.fingerprint256], ['reused', wrong.fingerprint256]);
    const validTo = new Date(new X509Certificate(current.cert).validTo).getTime();
    const late = await persistentServerCertificate({ ...args, passphrase: 'wrong', now: new Date(validTo - RENEW_BEFORE_MS + 1000) });
    assert.equal(late.outcome, 'issued: near expiry');
    await writeFile(join(keyDir, 'tls', 'server.key'), first.key);
    const torn = await persistentServerCertificate({ ...args, passphrase: 'wrong' });
    assert.equal(torn.outcome, 'issued: stored files unusable');
  });
});
