/** The mirror's own endpoints: health, metrics, and every public key file clients need. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createPublicKey, X509Certificate } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';

const run = promisify(execFile);

describe('mirror endpoints', () => {
  let mirror: RunningMirror;
  before(async () => {
    mirror = await startMirror({ repositories: [] });
  });
  after(async () => {
    await mirror.close();
    await removeDir(mirror.dataDir);
  });

  test('/-/keys lists an active key of every kind with a download URL', async () => {
    const { keys } = (await (await mirror.get('/-/keys')).json()) as { keys: { id: string; kind: string; status: string; downloadUrl: string }[] };
    for (const kind of ['openpgp', 'ecdsa', 'rsa', 'x509-ca', 'x509-rsa', 'x509-ecdsa', 'ed25519']) {
      const active = keys.filter((k) => k.kind === kind && k.status === 'active');
      assert.equal(active.length, 1, `one active ${kind} key`);
      assert.match(active[0]!.downloadUrl, /^http:\/\/127\.0\.0\.1:\d+\/-\/keys\//);
    }
    for (const k of keys) {
      const path = new URL(k.downloadUrl).pathname;
      const res = await mirror.get(path);
      assert.equal(res.status, 200, path);
      assert.doesNotMatch(await res.text(), /PRIVATE KEY/, `${path} holds no private material`);
    }
  });

  test('cosign.pub is a PEM SubjectPublicKeyInfo of an ECDSA P-256 key', async () => {
    const pem = await (await mirror.get('/-/keys/cosign.pub')).text();
    assert.match(pem, /^-----BEGIN PUBLIC KEY-----/);
    const key = createPublicKey(pem);
    assert.equal(key.asymmetricKeyType, 'ec');
    assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  });

  test('the Alpine key is served under the file name apk expects', async () => {
    const { fileName, pem } = mirror.app.keys.rsaPublic();
    assert.match(fileName, /\.rsa\.pub$/);
    const res = await mirror.get(`/-/keys/${fileName}`);
    assert.equal(await res.text(), pem);
    assert.equal(createPublicKey(pem).asymmetricKeyDetails?.modulusLength, 4096);
  });

  test('ca.pem is a CA certificate that the real openssl accepts as issuer of the code-signing leaves', async () => {
    const caPem = await (await mirror.get('/-/keys/ca.pem')).text();
    const ca = new X509Certificate(caPem);
    assert.equal(ca.ca, true);
    const dir = await mkdtemp(join(tmpdir(), 'countersign-ca-'));
    try {
      await writeFile(join(dir, 'ca.pem'), caPem);
      for (const type of ['rsa', 'ecdsa'] as const) {
        await writeFile(join(dir, `${type}.pem`), mirror.app.keys.x509Leaf(type).certPem);
        const { stdout } = await run('openssl', ['verify', '-CAfile', join(dir, 'ca.pem'), '-purpose', 'any', join(dir, `${type}.pem`)]);
        assert.match(stdout, /: OK/);
        const { stdout: text } = await run('openssl', ['x509', '-in', join(dir, `${type}.pem`), '-noout', '-ext', 'extendedKeyUsage']);
        assert.match(text, /Code Signing/);
      }
    } finally {
      await removeDir(dir);
    }
  });

  test('unknown key files and endpoints are 404 with a JSON reason', async () => {
    const res = await mirror.get('/-/keys/private.pem');
    assert.equal(res.status, 404);
    assert.match(((await res.json()) as { error: string }).error, /No public key/);
    assert.equal((await mirror.get('/-/nothing')).status, 404);
  });

  test('health shows no file system path: not the data directory, not the config directory', async () => {
    const res = await mirror.get('/-/health');
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.equal((JSON.parse(text) as { status: string }).status, 'ok', 'positive control: health still answers');
    for (const internal of [mirror.dataDir, mirror.config.dataDir, mirror.config.configDir]) {
      assert.ok(!text.includes(internal), `/-/health names ${internal}: ${text}`);
    }
    assert.doesNotMatch(text, /"dataDir"/);
    for (const path of ['/-/keys', '/-/metrics']) {
      assert.ok(!(await (await mirror.get(path)).text()).includes(mirror.dataDir), `${path} names the data directory`);
    }
  });

  test('health and metrics', async () => {
    const health = (await (await mirror.get('/-/health')).json()) as { status: string; keys: unknown[] };
    assert.equal(health.status, 'ok');
    assert.ok(health.keys.length >= 7);
    const metrics = await mirror.get('/-/metrics');
    assert.match(metrics.headers.get('content-type') ?? '', /text\/plain/);
    assert.match(await metrics.text(), /countersign_process_/);
  });
});

describe('https listener', () => {
  test('serves over TLS with a certificate issued by the org CA, which a client trusting ca.pem accepts', async () => {
    const { Agent, fetch: undiciFetch } = await import('undici');
    const mirror = await startMirror({ listen: { host: '127.0.0.1', port: 0, https: { port: 0, hosts: ['127.0.0.1', 'localhost'] } }, repositories: [] });
    try {
      const { httpsUrl } = mirror;
      assert.ok(httpsUrl?.startsWith('https://127.0.0.1:'));
      const trusting = new Agent({ connect: { ca: mirror.app.keys.caPem() } });
      const res = await undiciFetch(`${httpsUrl}/-/health`, { dispatcher: trusting });
      assert.equal(res.status, 200);
      await trusting.close();
      const untrusting = new Agent({ connect: { ca: [] as string[] } });
      await assert.rejects(undiciFetch(`${httpsUrl}/-/health`, { dispatcher: untrusting }));
      await untrusting.close();
    } finally {
      await mirror.close();
      await removeDir(mirror.dataDir);
    }
  });
});
