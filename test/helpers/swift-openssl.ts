/**
 * The real OpenSSL on the test side of Swift signing: it makes the upstream's PKI and signatures
 * (a root CA and an ECDSA P-256 code-signing leaf, `openssl cms -sign -noattr` as
 * formats-pki.md §3.6 does), and it checks what the mirror serves (`openssl cms -verify` over the
 * exact served bytes against a root, `openssl cms -cmsout -print` for the cms-1.0.0 profile).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestPki {
  dir: string;
  rootPem: string;
  rootDer: Buffer;
  leafPem: string;
  leafKeyPem: string;
}

async function inTemp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'countersign-swift-ssl-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A root CA and a code-signing leaf under it, both P-256, as a publisher's PKI. */
export async function makeTestPki(name: string, opts: { leafEku?: string } = {}): Promise<TestPki> {
  return inTemp(async (d) => {
    const f = (n: string): string => join(d, n);
    await run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', f('root.key')]);
    await run('openssl', ['req', '-x509', '-new', '-key', f('root.key'), '-subj', `/CN=${name} Root/O=${name}`, '-days', '3650', '-sha256',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', f('root.pem')]);
    await run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', f('leaf.key')]);
    await run('openssl', ['req', '-new', '-key', f('leaf.key'), '-subj', `/CN=${name} Signing/O=${name}`, '-out', f('leaf.csr')]);
    await writeFile(f('leaf.ext'), `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=${opts.leafEku ?? 'codeSigning'}\n`);
    await run('openssl', ['x509', '-req', '-in', f('leaf.csr'), '-CA', f('root.pem'), '-CAkey', f('root.key'), '-CAcreateserial', '-days', '3650', '-sha256',
      '-extfile', f('leaf.ext'), '-out', f('leaf.pem')]);
    await run('openssl', ['pkcs8', '-topk8', '-nocrypt', '-in', f('leaf.key'), '-out', f('leaf.p8')]);
    await run('openssl', ['x509', '-in', f('root.pem'), '-outform', 'DER', '-out', f('root.der')]);
    return {
      dir: d, rootPem: await readFile(f('root.pem'), 'utf8'), rootDer: await readFile(f('root.der')),
      leafPem: await readFile(f('leaf.pem'), 'utf8'), leafKeyPem: await readFile(f('leaf.p8'), 'utf8'),
    };
  });
}

/** `openssl cms -sign -binary -noattr -md sha256` (detached, DER): the cms-1.0.0 signature SwiftPM makes. */
export async function cmsSign(pki: TestPki, content: Buffer): Promise<Buffer> {
  return inTemp(async (d) => {
    await Promise.all([writeFile(join(d, 'in'), content), writeFile(join(d, 'leaf.pem'), pki.leafPem), writeFile(join(d, 'leaf.key'), pki.leafKeyPem)]);
    await run('openssl', ['cms', '-sign', '-binary', '-noattr', '-md', 'sha256', '-in', join(d, 'in'), '-signer', join(d, 'leaf.pem'), '-inkey', join(d, 'leaf.key'),
      '-outform', 'DER', '-out', join(d, 'sig')]);
    return readFile(join(d, 'sig'));
  });
}

/** `openssl cms -verify` of a detached DER signature over `content` against one root PEM; `-purpose any` for the codeSigning-only EKU. */
export async function cmsVerify(signature: Buffer, content: Buffer, rootPem: string): Promise<{ ok: boolean; output: string }> {
  return inTemp(async (d) => {
    await Promise.all([writeFile(join(d, 'sig'), signature), writeFile(join(d, 'content'), content), writeFile(join(d, 'root.pem'), rootPem)]);
    try {
      const { stderr } = await run('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', join(d, 'sig'), '-content', join(d, 'content'),
        '-CAfile', join(d, 'root.pem'), '-purpose', 'any', '-out', '/dev/null']);
      return { ok: /Verification successful/.test(stderr), output: stderr };
    } catch (err) {
      return { ok: false, output: String((err as { stderr?: string }).stderr ?? err) };
    }
  });
}

/** `openssl cms -cmsout -print` of a DER signature: the text the profile assertions read. */
export async function cmsPrint(signature: Buffer): Promise<string> {
  return inTemp(async (d) => {
    await writeFile(join(d, 'sig'), signature);
    const { stdout } = await run('openssl', ['cms', '-cmsout', '-print', '-inform', 'DER', '-in', join(d, 'sig')], { maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  });
}

/** `openssl asn1parse` of a DER structure. */
export async function asn1Parse(der: Buffer): Promise<string> {
  return inTemp(async (d) => {
    await writeFile(join(d, 'der'), der);
    const { stdout } = await run('openssl', ['asn1parse', '-inform', 'DER', '-in', join(d, 'der')], { maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  });
}

/** `openssl x509 -text` of a DER or PEM certificate. */
export async function x509Text(cert: Buffer | string): Promise<string> {
  return inTemp(async (d) => {
    await writeFile(join(d, 'cert'), cert);
    const inform = typeof cert === 'string' ? 'PEM' : 'DER';
    const { stdout } = await run('openssl', ['x509', '-inform', inform, '-in', join(d, 'cert'), '-noout', '-text']);
    return stdout;
  });
}

/** The served manifest split as formats-pki.md §3.6 does with tail/head: signed content, and the DER of its signature line. */
export function splitServedManifest(served: Buffer): { content: Buffer; signature: Buffer } | undefined {
  const text = served.toString('utf8');
  const lastNewline = text.lastIndexOf('\n');
  const line = text.slice(lastNewline + 1);
  const m = /^\/\/ signature: cms-1\.0\.0;([A-Za-z0-9+/=]+)$/.exec(line);
  if (!m) return undefined;
  return { content: Buffer.from(text.slice(0, lastNewline), 'utf8'), signature: Buffer.from(m[1]!, 'base64') };
}
