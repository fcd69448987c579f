/**
 * The HTTPS listener's certificate, kept across restarts in the key directory (`tls/server.pem`,
 * leaf then CA, and `tls/server.key`, 0600, encrypted when the key store has a passphrase), so
 * clients that pinned it or cached a TLS session see the same certificate after a restart. It
 * is issued again only when it no longer fits: the configured hosts changed, the org CA that
 * issued it is no longer the active one (rotated), it is near its end, or the files are unusable.
 */
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isIP } from 'node:net';
import { ensureKeyDir, PRIVATE_MODE, PUBLIC_MODE, writeFileAtomic } from './key-files.js';
import { exportPrivatePem, loadPrivatePem } from './pem-keys.js';
import type { KeyStore } from './types.js';

/** Re-issued when less than this is left (server certificates are issued for a year). */
export const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;
const CERT_FILE = 'server.pem';
const KEY_FILE = 'server.key';

export interface ServerTls {
  /** Leaf then CA, PEM. */
  cert: string;
  /** PKCS#8 PEM (unencrypted, in memory only: what node's TLS takes). */
  key: string;
  fingerprint256: string;
  /** Why it was issued now, or 'reused'. */
  outcome: 'reused' | 'issued: none stored' | 'issued: hosts changed' | 'issued: CA rotated' | 'issued: near expiry' | 'issued: stored files unusable';
}

export async function persistentServerCertificate(args: {
  keyDir: string;
  hosts: readonly string[];
  keys: Pick<KeyStore, 'caPem' | 'issueServerCertificate'>;
  passphrase?: string;
  now?: Date;
}): Promise<ServerTls> {
  const dir = join(args.keyDir, 'tls');
  const now = args.now ?? new Date();
  const stored = await readStored(dir, args.passphrase);
  let outcome: ServerTls['outcome'] = 'issued: none stored';
  if (stored === 'unusable') outcome = 'issued: stored files unusable';
  else if (stored) {
    const leaf = new X509Certificate(stored.cert);
    const ca = new X509Certificate(args.keys.caPem());
    if (!sameHosts(leaf, args.hosts)) outcome = 'issued: hosts changed';
    else if (!(leaf.checkIssued(ca) && leaf.verify(ca.publicKey))) outcome = 'issued: CA rotated';
    else if (new Date(leaf.validTo).getTime() - now.getTime() < RENEW_BEFORE_MS) outcome = 'issued: near expiry';
    else return { ...stored, fingerprint256: leaf.fingerprint256, outcome: 'reused' };
  }
  const issued = await args.keys.issueServerCertificate([...args.hosts]);
  await ensureKeyDir(dir);
  // The key first: a certificate on disk always has its key beside it.
  const keyPem = args.passphrase ? exportPrivatePem(loadPrivatePem(issued.keyPem, undefined, 'the HTTPS key'), args.passphrase) : issued.keyPem;
  await writeFileAtomic(dir, KEY_FILE, keyPem, PRIVATE_MODE);
  await writeFileAtomic(dir, CERT_FILE, issued.chainPem, PUBLIC_MODE);
  return { cert: issued.chainPem, key: issued.keyPem, fingerprint256: new X509Certificate(issued.certPem).fingerprint256, outcome };
}

async function readStored(dir: string, passphrase: string | undefined): Promise<{ cert: string; key: string } | 'unusable' | undefined> {
  let cert: string;
  let key: string;
  try {
    [cert, key] = await Promise.all([readFile(join(dir, CERT_FILE), 'utf8'), readFile(join(dir, KEY_FILE), 'utf8')]);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : 'unusable';
  }
  try {
    const leaf = new X509Certificate(cert);
    const privateKey = loadPrivatePem(key, passphrase, 'the HTTPS key');
    // A key that is not the certificate's (a torn pair) is as good as none.
    if (!leaf.checkPrivateKey(privateKey)) return 'unusable';
    return { cert, key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
  } catch {
    return 'unusable';
  }
}

/** Whether the certificate's subjectAltName names exactly the configured hosts. */
function sameHosts(leaf: X509Certificate, hosts: readonly string[]): boolean {
  const names = (leaf.subjectAltName ?? '').split(/,\s*/).filter(Boolean).map((n) => {
    const [type, value = ''] = n.split(/:(.*)/s);
    return type === 'IP Address' ? normalizeIp(value) : value.toLowerCase();
  });
  const wanted = hosts.map((h) => (isIP(h) ? normalizeIp(h) : h.toLowerCase()));
  return names.length === wanted.length && new Set(names).size === new Set(wanted).size && wanted.every((h) => names.includes(h));
}

/** One spelling per address (node prints IPv6 SANs uncompressed): what a URL host makes of it. */
function normalizeIp(ip: string): string {
  return isIP(ip) === 6 ? new URL(`http://[${ip}]/`).hostname : ip;
}
