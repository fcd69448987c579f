/**
 * An upstream publisher's OpenPGP key for fixtures: real keys, real detached signatures,
 * made by the test (Ed25519, so it is fast). Separate from the mirror's signer.
 */
import * as openpgp from 'openpgp';

export interface UpstreamPgpKey {
  armoredPublic: string;
  fingerprint: string;
  sign(bytes: Buffer | string): Promise<string>;
}

export async function makeUpstreamPgpKey(name = 'Fixture Upstream'): Promise<UpstreamPgpKey> {
  const { privateKey, publicKey } = await openpgp.generateKey({
    type: 'curve25519',
    userIDs: [{ name, email: 'release@upstream.example' }],
    format: 'armored',
  });
  const priv = await openpgp.readPrivateKey({ armoredKey: privateKey });
  return {
    armoredPublic: publicKey,
    fingerprint: priv.getFingerprint().toUpperCase(),
    async sign(bytes) {
      const message = await openpgp.createMessage({ binary: new Uint8Array(Buffer.from(bytes)) });
      return openpgp.sign({ message, signingKeys: priv, detached: true, format: 'armored' }) as Promise<string>;
    },
  };
}
