/**
 * The shared OpenPGP signing helpers on their own: streamed and in-memory inputs give
 * signatures over the same bytes, empty inputs work, and a cancelled stream releases its
 * source.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as openpgp from 'openpgp';
import { signCleartext, signDetachedArmored, signDetachedBinary } from '../../src/signing/openpgp-sign.js';
import { readTextStream, toWebStream } from '../../src/signing/stream-input.js';
import { gpgv } from '../helpers/debian-fixture.js';

async function* chunks(data: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

async function verifies(key: openpgp.PrivateKey, data: Uint8Array, signature: openpgp.Signature): Promise<boolean> {
  const result = await openpgp.verify({ message: await openpgp.createMessage({ binary: data }), signature, verificationKeys: key.toPublic() });
  return result.signatures[0]!.verified;
}

describe('signing/openpgp-sign', async () => {
  const { privateKey: key } = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ name: 't' }], format: 'object' });

  it('signs bytes and async iterables alike, including empty input', async () => {
    for (const size of [0, 1, 70_000, 1_000_003]) {
      const data = new Uint8Array(size).map((_, i) => i % 251);
      for (const input of [data, chunks(data, 4096)]) {
        const armored = await signDetachedArmored(key, input);
        assert.ok(await verifies(key, data, await openpgp.readSignature({ armoredSignature: armored })), `size ${size}`);
      }
      const binary = await signDetachedBinary(key, chunks(data, 999));
      assert.ok(await verifies(key, data, await openpgp.readSignature({ binarySignature: binary })));
    }
  });

  it('makes cleartext signatures openpgp.js verifies', async () => {
    const text = 'Origin: Debian\nSuite: stable\n';
    const signed = await signCleartext(key, text);
    const message = await openpgp.readCleartextMessage({ cleartextMessage: signed });
    const result = await openpgp.verify({ message, verificationKeys: key.toPublic() });
    assert.equal(await result.signatures[0]!.verified, true);
  });

  it('makes LF cleartext whose signed text is exactly the input, dash-escaped, and gpgv verifies it', async () => {
    // A Release-shaped text with a line gpg must dash-escape (RFC 4880 §7.1) and no final newline.
    const text = 'Origin: Debian\nSuite: stable\nDescription: test\n-----BEGIN PGP SIGNATURE----- inside\nSHA256:\n 0123 12 main/Packages';
    const signed = await signCleartext(key, text);
    assert.equal(signed.includes('\r'), false, 'no CR anywhere in the served InRelease');
    const head = '-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n';
    assert.ok(signed.startsWith(head), signed.slice(0, 80));
    const body = signed.slice(head.length, signed.indexOf('\n-----BEGIN PGP SIGNATURE-----\n'));
    assert.equal(body.replace(/(^|\n)- /g, '$1'), text, 'the signed text is the input itself');
    assert.ok(body.includes('\n- -----BEGIN PGP SIGNATURE----- inside\n'), 'a line starting with a dash is escaped');
    const message = await openpgp.readCleartextMessage({ cleartextMessage: signed });
    assert.equal(await (await openpgp.verify({ message, verificationKeys: key.toPublic() })).signatures[0]!.verified, true);
    const byGpgv = await gpgv(key.toPublic().armor(), Buffer.from(signed, 'utf8'));
    assert.ok(byGpgv.ok, byGpgv.output);
    // Control: gpgv rejects the same file once a byte of the signed text changes.
    const tampered = await gpgv(key.toPublic().armor(), Buffer.from(signed.replace('Suite: stable', 'Suite: stablE'), 'utf8'));
    assert.equal(tampered.ok, false, tampered.output);
  });

  it('ends the source iterator when the web stream is cancelled', async () => {
    let closed = false;
    async function* source(): AsyncGenerator<Uint8Array> {
      try {
        for (;;) yield new Uint8Array(16);
      } finally {
        closed = true;
      }
    }
    const reader = toWebStream(source()).getReader();
    await reader.read();
    await reader.cancel();
    assert.equal(closed, true);
  });

  it('reads streamed text to the end', async () => {
    const stream = new ReadableStream<string>({ start(c) { c.enqueue('a'); c.enqueue('b'); c.close(); } });
    assert.equal(await readTextStream(stream), 'ab');
  });
});
