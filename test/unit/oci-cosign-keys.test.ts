/**
 * trust.cosignKeys loading and the signature check sigstore's verifiers make: ECDSA over SHA-256
 * whatever the curve (DER, or raw r‖s), RSA PKCS#1 v1.5 SHA-256, pure Ed25519.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { test } from 'node:test';
import { loadCosignKeys, verifyingKey } from '../../src/formats/oci/cosign-keys.js';

const payload = Buffer.from('{"critical":{},"optional":null}');
const pem = (k: KeyObject, type: 'spki' | 'pkcs1' = 'spki') => k.export({ type, format: 'pem' }) as string;
const files = (map: Record<string, string>) => async (path: string) => {
  const text = map[path];
  if (text === undefined) throw new Error(`no ${path}`);
  return Buffer.from(text);
};

test('every supported key type verifies the signature cosign would make with it', async () => {
  const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const p521 = generateKeyPairSync('ec', { namedCurve: 'P-521' });
  const ed = generateKeyPairSync('ed25519');
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keys = await loadCosignKeys('r', ['ec.pem', 'ed.pem', 'rsa.pem'], files({
    // Several PEM blocks in one file, as a keyring of a publisher's keys.
    'ec.pem': `${pem(p256.publicKey)}\n${pem(p384.publicKey)}${pem(p521.publicKey)}`,
    'ed.pem': pem(ed.publicKey),
    'rsa.pem': pem(rsa.publicKey, 'pkcs1'),
  }));
  assert.equal(keys.length, 5);
  const cases: [string, Buffer, number][] = [
    ['P-256 DER', sign('sha256', payload, p256.privateKey), 0],
    ['P-384 with SHA-256', sign('sha256', payload, p384.privateKey), 1],
    ['P-521 raw r‖s', sign('sha256', payload, { key: p521.privateKey, dsaEncoding: 'ieee-p1363' }), 2],
    ['Ed25519', sign(null, payload, ed.privateKey), 3],
    ['RSA PKCS#1 v1.5', sign('sha256', payload, rsa.privateKey), 4],
  ];
  for (const [name, signature, index] of cases) assert.equal(verifyingKey(keys, payload, signature)?.id, keys[index]!.id, name);
  assert.equal(verifyingKey(keys, payload, sign('sha384', payload, p384.privateKey)), undefined, 'cosign hashes with SHA-256 whatever the curve');
  assert.equal(verifyingKey(keys, Buffer.from('other'), sign('sha256', payload, p256.privateKey)), undefined);
  assert.equal(verifyingKey(keys, payload, Buffer.from('not a signature')), undefined);
  assert.match(keys[0]!.id, /^SHA256:[A-Za-z0-9+/]+=*$/);
});

test('files that hold no usable public key are configuration errors', async () => {
  const p224 = generateKeyPairSync('ec', { namedCurve: 'P-224' });
  const priv = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const read = files({ 'weak.pem': pem(p224.publicKey), 'priv.pem': priv, 'empty.pem': '', 'junk.pem': '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n' });
  await assert.rejects(loadCosignKeys('r', ['weak.pem'], read), /trust\.cosignKeys: weak\.pem: ECDSA curve secp224r1 is not supported/);
  await assert.rejects(loadCosignKeys('r', ['priv.pem'], read), /"PRIVATE KEY" PEM block, not a public key/);
  await assert.rejects(loadCosignKeys('r', ['empty.pem'], read), /holds no PEM public key/);
  await assert.rejects(loadCosignKeys('r', ['junk.pem'], read), /junk\.pem is not a valid PEM public key/);
});
