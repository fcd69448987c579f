/**
 * The key store on first start: what it generates, where, with which modes and ids, and
 * that every signer's output verifies with independent tools (openpgp.js, gpg, openssl,
 * node crypto). One store is generated for the whole file; RSA 4096 costs seconds.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, createPublicKey, verify as cryptoVerify, webcrypto, X509Certificate } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, get } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { inspect, promisify } from 'node:util';
import * as openpgp from 'openpgp';
import { DEFAULT_SIZES } from '../../src/keys/generate-keys.js';
import { keySizes } from '../../src/keys/key-options.js';
import { openKeyStore } from '../../src/keys/key-store.js';
import { KEY_KINDS, type KeyStore } from '../../src/keys/types.js';

const run = promisify(execFile);

async function gpgVerify(keyring: string, files: Record<string, string | Uint8Array>, args: string[]): Promise<string> {
  const home = await mkdtemp(join(tmpdir(), 'cs-gpg-'));
  try {
    await writeFile(join(home, 'keys.asc'), keyring);
    for (const [name, body] of Object.entries(files)) await writeFile(join(home, name), body);
    await run('gpg', ['--homedir', home, '--batch', '--quiet', '--import', join(home, 'keys.asc')]);
    const { stdout } = await run('gpg', ['--homedir', home, '--batch', '--status-fd', '1', '--verify', ...args.map((a) => join(home, a))]);
    return stdout;
  } finally {
    await run('gpgconf', ['--homedir', home, '--kill', 'all']).catch(() => undefined);
    await rm(home, { recursive: true, force: true });
  }
}

async function openssl(args: string[], cwd: string): Promise<string> {
  const { stdout, stderr } = await run('openssl', args, { cwd });
  return stdout + stderr;
}

function spkiIdOfPem(pem: string): string {
  const der = createPublicKey(pem).export({ type: 'spki', format: 'der' });
  return `SHA256:${createHash('sha256').update(der).digest('base64')}`;
}

describe('key store: first start', () => {
  let root: string;
  let dir: string;
  let store: KeyStore;
  const logLines: string[] = [];
  const logger = { info: (obj: object, msg?: string) => logLines.push(`${msg} ${JSON.stringify(obj)}`) };

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'cs-keys-'));
    dir = join(root, 'data', 'keys');
    const started = performance.now();
    // env: {} so this file always checks the production sizes, even when CI sets fast keys.
    store = await openKeyStore({ dir, logger, options: { identity: 'Acme Mirror <mirror@acme.test>' }, env: {} });
    logLines.push(`first open took ${Math.round(performance.now() - started)} ms`);
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('generates one active key of every kind with stable-format ids', () => {
    const list = store.list();
    assert.deepEqual(list.map((k) => k.kind).sort(), [...KEY_KINDS].sort());
    for (const key of list) {
      assert.equal(key.status, 'active');
      if (key.kind.startsWith('openpgp')) assert.match(key.id, /^[0-9A-F]{40}$/);
      else assert.match(key.id, /^SHA256:[A-Za-z0-9+/]{43}=$/);
      assert.ok(key.downloadUrl?.startsWith('/-/keys/'));
      assert.ok(store.publicFile(key.downloadUrl!.slice('/-/keys/'.length)), `${key.downloadUrl} resolves`);
    }
    const algorithms = Object.fromEntries(list.map((k) => [k.kind, k.algorithm]));
    assert.deepEqual(algorithms, {
      openpgp: 'rsa4096', ecdsa: 'ecdsa-p256', rsa: 'rsa4096', 'x509-ca': 'x509-rsa3072',
      'x509-rsa': 'x509-rsa3072', 'x509-ecdsa': 'x509-ecdsa-p256', ed25519: 'ed25519',
      'x509-ca-unverified': 'x509-rsa3072', 'x509-rsa-unverified': 'x509-rsa3072', 'x509-ecdsa-unverified': 'x509-ecdsa-p256',
      // Unverified twins: the same algorithms as their primary kinds.
      'openpgp-unverified': 'rsa4096', 'ecdsa-unverified': 'ecdsa-p256', 'rsa-unverified': 'rsa4096',
    });
    const roles = Object.fromEntries(list.map((k) => [k.kind, k.role]));
    for (const kind of KEY_KINDS) assert.equal(roles[kind], kind.endsWith('-unverified') ? 'unverified' : 'primary', kind);
  });

  it('writes the directory 0700, private files 0600 and public files 0644', async () => {
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as { keys: Array<{ files: { private: string; public: string } }> };
    assert.equal(manifest.keys.length, KEY_KINDS.length);
    for (const { files } of manifest.keys) {
      assert.equal((await stat(join(dir, files.private))).mode & 0o777, 0o600, files.private);
      assert.equal((await stat(join(dir, files.public))).mode & 0o777, 0o644, files.public);
    }
    const names = await readdir(dir);
    assert.ok(!names.some((n) => n.endsWith('.tmp')), 'no temp files remain');
  });

  it('ids are recomputable from the published keys and stable across reopen', async () => {
    const byKind = Object.fromEntries(store.list().map((k) => [k.kind, k.id])) as Record<string, string>;
    assert.equal(byKind.ecdsa, spkiIdOfPem(store.cosignPublicPem()));
    assert.equal(byKind.rsa, spkiIdOfPem(store.rsaPublic().pem));
    assert.equal(byKind['x509-ca'], spkiIdOfPem(new X509Certificate(store.caPem()).publicKey.export({ type: 'spki', format: 'pem' }) as string));
    const [pgp] = await openpgp.readKeys({ armoredKeys: store.openpgpPublicArmored() });
    assert.equal(pgp!.getFingerprint().toUpperCase(), byKind.openpgp);

    const before = await readdir(dir);
    const reopened = await openKeyStore({ dir });
    assert.deepEqual(reopened.list(), store.list());
    assert.deepEqual((await readdir(dir)).sort(), before.sort(), 'reopening writes nothing');
  });

  it('names the Alpine key after its SPKI hash', () => {
    const { fileName, pem } = store.rsaPublic();
    assert.match(fileName, /^countersign-[0-9a-f]{8}\.rsa\.pub$/);
    assert.equal(store.publicFile(fileName)?.body, pem);
    assert.equal(store.rsaSigner().fileName, fileName);
  });

  it('OpenPGP detached signatures verify with openpgp.js and gpg, from bytes and from streams', async () => {
    const signer = store.openpgpSigner();
    const data = Buffer.alloc(3 * 1024 * 1024 + 17, 'countersign ');
    const fromBytes = await signer.signDetached(new Uint8Array(data));
    // A node stream in uneven chunks, as the blob store would hand it over.
    const chunks = Array.from({ length: Math.ceil(data.length / 65_537) }, (_, i) => data.subarray(i * 65_537, (i + 1) * 65_537));
    const fromStream = await signer.signDetached(Readable.from(chunks));
    const keys = await openpgp.readKeys({ armoredKeys: store.openpgpPublicArmored() });
    for (const armored of [fromBytes, fromStream]) {
      assert.match(armored, /^-----BEGIN PGP SIGNATURE-----/);
      const signature = await openpgp.readSignature({ armoredSignature: armored });
      const packet = signature.packets[0]!;
      assert.equal(packet.signatureType, openpgp.enums.signature.binary);
      assert.ok([openpgp.enums.hash.sha256, openpgp.enums.hash.sha384, openpgp.enums.hash.sha512].includes(packet.hashAlgorithm!));
      const result = await openpgp.verify({ message: await openpgp.createMessage({ binary: data }), signature, verificationKeys: keys });
      assert.equal(await result.signatures[0]!.verified, true);
      const status = await gpgVerify(store.openpgpPublicArmored(), { data, 'data.asc': armored }, ['data.asc', 'data']);
      assert.match(status, new RegExp(`VALIDSIG ${signer.id}`));
    }
    const binary = await signer.signDetachedBinary(new Uint8Array(data));
    assert.match(await gpgVerify(store.openpgpPublicArmored(), { data, 'data.sig': binary }, ['data.sig', 'data']), /VALIDSIG/);
    const cleartext = await signer.signCleartext('Origin: test\nSuite: stable\n');
    assert.match(await gpgVerify(store.openpgpPublicArmored(), { InRelease: cleartext }, ['InRelease']), /VALIDSIG/);
  });

  it('ECDSA, RSA and Ed25519 signatures verify with node crypto against the published keys', () => {
    const data = Buffer.from('pkg@1.0.0:sha512-abc');
    const ecdsa = store.ecdsaSigner();
    assert.equal(ecdsa.curve, 'P-256');
    assert.ok(cryptoVerify('sha256', data, store.cosignPublicPem(), ecdsa.sign(data)));
    assert.equal(ecdsa.sign(data)[0], 0x30, 'DER SEQUENCE');
    assert.deepEqual(ecdsa.publicSpkiDer(), createPublicKey(store.cosignPublicPem()).export({ type: 'spki', format: 'der' }));

    const rsa = store.rsaSigner();
    assert.equal(rsa.bits, 4096);
    for (const hash of ['sha1', 'sha256', 'sha512'] as const) assert.ok(cryptoVerify(hash, data, store.rsaPublic().pem, rsa.sign(data, hash)));

    const ed = store.ed25519Signer();
    assert.equal(ed.publicRaw().length, 32);
    assert.ok(cryptoVerify(null, data, ed.publicPem(), ed.sign(data)));
    assert.equal(store.publicFile('ed25519.pub')?.body, ed.publicPem());
  });

  it('X.509 leaves chain to the root CA under openssl and are code-signing certificates', async () => {
    const work = await mkdtemp(join(root, 'x509-'));
    await writeFile(join(work, 'ca.pem'), store.caPem());
    assert.match(await openssl(['x509', '-in', 'ca.pem', '-noout', '-ext', 'basicConstraints,keyUsage'], work), /CA:TRUE[\s\S]*Certificate Sign, CRL Sign/);
    for (const type of ['rsa', 'ecdsa'] as const) {
      const leaf = store.x509Leaf(type);
      await writeFile(join(work, `${type}.pem`), leaf.certPem);
      assert.match(await openssl(['verify', '-CAfile', 'ca.pem', `${type}.pem`], work), new RegExp(`${type}.pem: OK`));
      const ext = await openssl(['x509', '-in', `${type}.pem`, '-noout', '-ext', 'extendedKeyUsage,keyUsage,basicConstraints'], work);
      assert.match(ext, /Code Signing/);
      assert.match(ext, /Digital Signature/);
      assert.match(ext, /CA:FALSE/);
      const purposes = await openssl(['x509', '-in', `${type}.pem`, '-noout', '-purpose'], work);
      // OpenSSL ≥ 3.2 lists a code-signing purpose; 3.0 does not, and there the EKU check above stands.
      if (/Code signing/i.test(purposes)) assert.match(purposes, /Code signing : Yes/i);
      assert.match(purposes, /SSL server : No/);
      assert.equal(leaf.chainDer.length, 2);
      assert.ok(new X509Certificate(leaf.certDer).checkIssued(new X509Certificate(store.caPem())));
      const data = Buffer.from('signed attributes');
      assert.ok(cryptoVerify('sha256', data, new X509Certificate(leaf.certDer).publicKey, leaf.sign(data)));
      const cryptoKey = await leaf.signingCryptoKey();
      assert.equal(cryptoKey.extractable, false);
      const algorithm = type === 'rsa' ? { name: 'RSASSA-PKCS1-v1_5' } : { name: 'ECDSA', hash: 'SHA-256' };
      assert.ok((await webcrypto.subtle.sign(algorithm, cryptoKey, data)).byteLength > 0);
    }
    assert.equal(store.x509Leaf('rsa').algorithm, 'x509-rsa3072');
    assert.equal(store.x509Leaf('ecdsa').algorithm, 'x509-ecdsa-p256');
  });

  it('issues an HTTPS server certificate a client trusting ca.pem accepts', async () => {
    const issued = await store.issueServerCertificate(['localhost', '127.0.0.1']);
    const server = createServer({ key: issued.keyPem, cert: issued.chainPem }, (_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const body = await new Promise<string>((resolve, reject) => {
        get({ host: '127.0.0.1', port, path: '/', ca: store.caPem() }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve(text));
        }).on('error', reject);
      });
      assert.equal(body, 'ok');
    } finally {
      server.close();
    }
  });

  it('serves public files by name and nothing else', () => {
    assert.equal(store.publicFile('openpgp.asc')?.body, store.openpgpPublicArmored());
    assert.equal(store.publicFile('cosign.pub')?.body, store.cosignPublicPem());
    assert.equal(store.publicFile('ca.pem')?.body, store.caPem());
    assert.equal(store.publicFile('x509-rsa.pem')?.body, store.x509Leaf('rsa').chainPem);
    for (const name of ['manifest.json', '../keys/manifest.json', 'nope.pub', '']) assert.equal(store.publicFile(name), undefined);
    assert.equal(store.exportPublic('ecdsa'), store.cosignPublicPem());
    assert.equal(store.exportPublic('openpgp'), store.openpgpPublicArmored());
    assert.equal(store.caBundlePem(), store.caPem());
  });

  it('never shows private material in JSON, inspect output or logs', async () => {
    const shown = [
      JSON.stringify(store), inspect(store, { depth: 5 }), inspect(store.openpgpSigner(), { depth: 5 }),
      JSON.stringify(store.openpgpSigner()), inspect(store.ecdsaSigner(), { depth: 5 }), JSON.stringify(store.rsaSigner()),
      inspect(store.ed25519Signer(), { depth: 5 }), inspect(store.x509Leaf('rsa'), { depth: 5 }), JSON.stringify(store.x509Leaf('ecdsa')),
      ...logLines,
    ].join('\n');
    assert.doesNotMatch(shown, /PRIVATE KEY/);
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as { keys: Array<{ files: { private: string } }> };
    for (const { files } of manifest.keys) {
      const body = (await readFile(join(dir, files.private), 'utf8')).replace(/-----[^-]+-----|\s/g, '');
      assert.ok(!shown.includes(body.slice(40, 120)), `${files.private} material is not shown`);
    }
    assert.ok(logLines.some((l) => l.startsWith('generated organisation keys')));
    console.log(logLines.filter((l) => /took|generated organisation/.test(l)).join('\n'));
  });
});

describe('key store: COUNTERSIGN_TEST_FAST_KEYS (test-only)', () => {
  it('shrinks generated RSA keys to 2048 bits and warns', async () => {
    const root = await mkdtemp(join(tmpdir(), 'cs-keys-fast-'));
    try {
      const warnings: string[] = [];
      const logger = { info: () => undefined, warn: (_o: object, msg?: string) => warnings.push(msg ?? '') };
      const store = await openKeyStore({ dir: join(root, 'keys'), logger, env: { COUNTERSIGN_TEST_FAST_KEYS: '1' } });
      const algorithms = Object.fromEntries(store.list().map((k) => [k.kind, k.algorithm]));
      assert.equal(algorithms.openpgp, 'rsa2048');
      assert.equal(algorithms.rsa, 'rsa2048');
      assert.equal(algorithms['openpgp-unverified'], 'rsa2048');
      assert.equal(algorithms['rsa-unverified'], 'rsa2048');
      assert.equal(algorithms['x509-ca'], 'x509-rsa2048');
      assert.equal(algorithms['x509-rsa'], 'x509-rsa2048');
      assert.ok(warnings.some((w) => /TEST-ONLY/.test(w)));
      const quiet: string[] = [];
      assert.deepEqual(keySizes({ COUNTERSIGN_TEST_FAST_KEYS: '0' }, (_o, m) => quiet.push(m)), DEFAULT_SIZES);
      assert.deepEqual(keySizes({}, (_o, m) => quiet.push(m)), DEFAULT_SIZES);
      assert.deepEqual(quiet, [], 'no warning without the variable');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
