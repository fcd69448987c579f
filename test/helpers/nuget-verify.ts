/**
 * An independent checker of served NuGet packages, as strict as `dotnet nuget verify` where it
 * can be without .NET (no NuGet client with signature verification runs on this machine):
 * - python3's zipfile reads the package, checks the `.signature.p7s` entry's placement and
 *   metadata and recomputes the package hash the way NuGet does (the zip without the entry);
 * - `openssl cms -verify` checks the primary signature, its content and its chain;
 * - `openssl cms -cmsout -print` and pkijs parsing check the profile: one signer, the attributes
 *   and their OIDs, signing-certificate-v2 naming the signer, the countersignature (verified with
 *   node crypto over its DER signed attributes) and that its certificate chains to the given root.
 * Nothing here imports the mirror's code.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, verify, webcrypto, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';

const run = promisify(execFile);

type EngineCrypto = ConstructorParameters<typeof pkijs.CryptoEngine>[0]['crypto'];
pkijs.setEngine('checker-webcrypto', new pkijs.CryptoEngine({ name: 'checker-webcrypto', crypto: webcrypto as unknown as EngineCrypto }));

const pemCert = (pem: string): pkijs.Certificate => pkijs.Certificate.fromBER(ab(Buffer.from(new X509Certificate(pem).raw)));

/** pkijs' own SignedData.verify (signature, message digest and chain to `rootPem`) as a second verifier. */
async function pkijsVerifies(sd: pkijs.SignedData, rootPem: string): Promise<void> {
  const result = await sd.verify({ signer: 0, trustedCerts: [pemCert(rootPem)], checkChain: true, extendedMode: true });
  assert.ok(result.signatureVerified && result.signerCertificateVerified, `pkijs SignedData.verify: ${result.message}`);
}

const PY_INSPECT = `
import sys, zipfile, struct, hashlib, base64, json
path, sig_out = sys.argv[1], sys.argv[2]
data = open(path, 'rb').read()
z = zipfile.ZipFile(path)
infos = z.infolist()
sigs = [i for i in infos if i.filename == '.signature.p7s']
out = {'signatures': len(sigs)}
if len(sigs) == 1:
    s = sigs[0]
    lh = struct.unpack('<IHHHHHIIIHH', data[s.header_offset:s.header_offset + 30])
    out.update(last_cd=infos[-1] is s, last_local=max(i.header_offset for i in infos) == s.header_offset,
               flag_bits=s.flag_bits, compress_type=s.compress_type, external_attr=s.external_attr, cd_extra=len(s.extra),
               local_flags=lh[2], local_method=lh[3], local_extra=lh[10], sizes_equal=s.compress_size == s.file_size,
               name_raw=data[s.header_offset + 30:s.header_offset + 30 + lh[9]].decode('latin1'))
    open(sig_out, 'wb').write(z.read(s))
    # NuGet's hash of a signed package: the zip as if the entry had never been written.
    local_len = 30 + lh[9] + lh[10] + lh[7]
    eocd = data.rfind(b'PK\\x05\\x06')
    n, cd_size, cd_off = struct.unpack('<HII', data[eocd + 10:eocd + 20])
    records, at = [], cd_off
    for _ in range(n):
        nl, el, cl = struct.unpack('<HHH', data[at + 28:at + 34])
        rec = bytearray(data[at:at + 46 + nl + el + cl])
        off = struct.unpack('<I', rec[42:46])[0]
        if off != s.header_offset:
            if off > s.header_offset:
                rec[42:46] = struct.pack('<I', off - local_len)
            records.append(bytes(rec))
        else:
            sig_cd_len = len(rec)
        at += 46 + nl + el + cl
    end = bytearray(data[eocd:])
    end[8:10] = struct.pack('<H', n - 1); end[10:12] = struct.pack('<H', n - 1)
    end[12:16] = struct.pack('<I', cd_size - sig_cd_len); end[16:20] = struct.pack('<I', cd_off - local_len)
    unsigned = data[:s.header_offset] + data[s.header_offset + local_len:cd_off] + b''.join(records) + bytes(end)
    out['sha256'] = base64.b64encode(hashlib.sha256(unsigned).digest()).decode()
    out['sha512'] = base64.b64encode(hashlib.sha512(unsigned).digest()).decode()
    out['unsigned_b64'] = base64.b64encode(unsigned).decode()
print(json.dumps(out))
`;

export interface ServedPackageCheck {
  /** The package as if unsigned (python's computation). */
  unsigned: Buffer;
  /** Lock-file contentHash: base64 SHA-512 of the unsigned package. */
  contentHash: string;
  p7s: Buffer;
  /** The repository signer's certificate (primary or countersignature). */
  repositorySigner: X509Certificate;
  cmsPrint: string;
}

export interface CheckOptions {
  /** Root the repository signer must chain to (the org root, or the unverified root). */
  repositoryRootPem: string;
  /** For author-signed packages: the author root the primary signature chains to. */
  authorRootPem?: string;
}

async function openssl(args: string[]): Promise<{ ok: boolean; out: string }> {
  try {
    const { stdout, stderr } = await run('openssl', args, { encoding: 'utf8', maxBuffer: 1 << 24 });
    return { ok: true, out: stdout + stderr };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

const ab = (b: Buffer): ArrayBuffer => b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer;
const OID = {
  contentType: '1.2.840.113549.1.9.3', messageDigest: '1.2.840.113549.1.9.4', signingTime: '1.2.840.113549.1.9.5', countersignature: '1.2.840.113549.1.9.6',
  commitment: '1.2.840.113549.1.9.16.2.16', receipt: '1.2.840.113549.1.9.16.6.2', origin: '1.2.840.113549.1.9.16.6.1',
  signingCertV1: '1.2.840.113549.1.9.16.2.12', signingCertV2: '1.2.840.113549.1.9.16.2.47', serviceIndexUrl: '1.3.6.1.4.1.311.84.2.1.1.1',
};

function attr(si: pkijs.SignerInfo, oid: string): asn1js.AsnType[] | undefined {
  const found = si.signedAttrs?.attributes.filter((a) => a.type === oid) ?? [];
  assert.ok(found.length <= 1, `${oid} appears at most once`);
  return found[0]?.values;
}

function signerCert(si: pkijs.SignerInfo, certs: pkijs.Certificate[]): pkijs.Certificate {
  assert.ok(si.sid instanceof pkijs.IssuerAndSerialNumber, 'the signer is named by issuer and serial');
  const sid = si.sid as pkijs.IssuerAndSerialNumber;
  const cert = certs.find((c) => c.issuer.isEqual(sid.issuer) && c.serialNumber.isEqual(sid.serialNumber));
  assert.ok(cert, 'the signer certificate is embedded');
  return cert;
}

/** NuGet's per-signer checks on a repository (counter)signature's attributes and certificate. */
function checkRepositorySigner(si: pkijs.SignerInfo, cert: pkijs.Certificate, primary: boolean): void {
  assert.ok(si.signedAttrs, 'signed attributes are present');
  assert.equal(attr(si, OID.contentType) !== undefined, primary, primary ? 'content-type present' : 'no content-type in a countersignature');
  assert.ok(attr(si, OID.signingTime)?.length === 1, 'signing-time (NU3011)');
  const commitment = attr(si, OID.commitment);
  assert.equal(commitment?.length, 1);
  assert.equal(((commitment![0] as asn1js.Sequence).valueBlock.value[0] as asn1js.ObjectIdentifier).valueBlock.toString(), OID.receipt, 'commitment type: proof of receipt (repository)');
  assert.equal(attr(si, OID.signingCertV1), undefined, 'signing-certificate v1 must be absent');
  const url = attr(si, OID.serviceIndexUrl);
  assert.equal(url?.length, 1, 'one nuget-v3-service-index-url');
  assert.match((url![0] as asn1js.IA5String).valueBlock.value, /^https:\/\//, 'the service index URL is https');
  // signing-certificate-v2: its first ESSCertIDv2 names this certificate, with issuerSerial.
  const v2 = attr(si, OID.signingCertV2);
  assert.equal(v2?.length, 1, 'signing-certificate-v2 (required)');
  const first = ((v2![0] as asn1js.Sequence).valueBlock.value[0] as asn1js.Sequence).valueBlock.value[0] as asn1js.Sequence;
  const [alg, hash, issuerSerial] = first.valueBlock.value as [asn1js.Sequence, asn1js.OctetString, asn1js.Sequence];
  assert.equal((alg.valueBlock.value[0] as asn1js.ObjectIdentifier).valueBlock.toString(), '2.16.840.1.101.3.4.2.1');
  const certDer = Buffer.from(cert.toSchema().toBER(false));
  assert.deepEqual(Buffer.from(hash.valueBlock.valueHexView), createHash('sha256').update(certDer).digest(), 'ESSCertIDv2 hash of the signer');
  assert.ok(issuerSerial, 'issuerSerial is present');
  assert.ok((issuerSerial.valueBlock.value[1] as asn1js.Integer).isEqual(cert.serialNumber), 'issuerSerial names the signer serial');
  // Signer certificate: RSA >= 2048 with a SHA-2 RSA signature, EKU code signing, no lifetime signing.
  const x509 = new X509Certificate(certDer);
  assert.equal(x509.publicKey.asymmetricKeyType, 'rsa');
  assert.ok((x509.publicKey.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048, 'RSA >= 2048 (NU3014)');
  assert.ok(['1.2.840.113549.1.1.11', '1.2.840.113549.1.1.12', '1.2.840.113549.1.1.13'].includes(cert.signatureAlgorithm.algorithmId), 'SHA-2 RSA certificate signature (NU3013)');
  assert.ok(x509.keyUsage?.includes('1.3.6.1.5.5.7.3.3'), 'EKU code signing');
  assert.ok(!x509.keyUsage?.includes('1.3.6.1.4.1.311.10.3.13'), 'no lifetime-signing EKU (NU3015)');
  assert.ok(new Date(x509.validFrom) <= new Date() && new Date() < new Date(x509.validTo), 'valid now (no timestamp)');
}

export async function checkServedPackage(bytes: Buffer, options: CheckOptions): Promise<ServedPackageCheck> {
  const dir = await mkdtemp(join(tmpdir(), 'nuget-check-'));
  try {
    const pkg = join(dir, 'p.nupkg');
    const sig = join(dir, 'sig.p7s');
    await writeFile(pkg, bytes);
    const { stdout } = await run('python3', ['-c', PY_INSPECT, pkg, sig], { maxBuffer: 1 << 26 });
    const z = JSON.parse(stdout) as Record<string, unknown>;
    assert.equal(z.signatures, 1, 'exactly one .signature.p7s (NU3005)');
    assert.deepEqual(
      [z.last_cd, z.last_local, z.flag_bits, z.compress_type, z.external_attr, z.cd_extra, z.local_flags, z.local_method, z.local_extra, z.sizes_equal, z.name_raw],
      [true, true, 0, 0, 0, 0, 0, 0, 0, true, '.signature.p7s'],
      'the signature entry is stored, flags 0, no extra fields, attributes 0, last in both the entries and the directory',
    );
    const p7s = await readFile(sig);
    const unsigned = Buffer.from(z.unsigned_b64 as string, 'base64');
    const expected = `Version:1\n\n2.16.840.1.101.3.4.2.1-Hash:${z.sha256 as string}\n\n`;

    const info = pkijs.ContentInfo.fromBER(ab(p7s));
    const sd = new pkijs.SignedData({ schema: info.content });
    assert.equal(sd.signerInfos.length, 1, 'exactly one primary signer (NU3009)');
    const certs = (sd.certificates ?? []).filter((c): c is pkijs.Certificate => c instanceof pkijs.Certificate);
    const primary = sd.signerInfos[0]!;
    const primaryCert = signerCert(primary, certs);
    const primaryType = ((attr(primary, OID.commitment)![0] as asn1js.Sequence).valueBlock.value[0] as asn1js.ObjectIdentifier).valueBlock.toString();
    const counters = (primary.unsignedAttrs?.attributes ?? []).filter((a) => a.type === OID.countersignature).flatMap((a) => a.values);

    // The primary signature: crypto, content and chain by OpenSSL, against the root it should chain to.
    const primaryRoot = primaryType === OID.origin ? options.authorRootPem : options.repositoryRootPem;
    assert.ok(primaryRoot, 'a root for the primary signer');
    await writeFile(join(dir, 'root.pem'), primaryRoot);
    const verified = await openssl(['cms', '-verify', '-binary', '-inform', 'DER', '-in', sig, '-CAfile', join(dir, 'root.pem'), '-purpose', 'any', '-out', join(dir, 'content')]);
    assert.ok(verified.ok, `openssl cms -verify: ${verified.out}`);
    assert.equal(await readFile(join(dir, 'content'), 'utf8'), expected, 'the signed content is the hash of the package without its signature');
    await pkijsVerifies(sd, primaryRoot);
    const cmsPrint = (await openssl(['cms', '-cmsout', '-print', '-inform', 'DER', '-in', sig])).out;
    // The attribute OIDs as OpenSSL's own DER parser sees them (unknown ones print numerically).
    const parsed = (await openssl(['asn1parse', '-inform', 'DER', '-in', sig])).out;
    for (const name of ['contentType', 'messageDigest', 'signingTime', 'id-smime-aa-ets-commitmentType', 'id-smime-cti-ets-proofOfReceipt', 'id-smime-aa-signingCertificateV2', ':1.3.6.1.4.1.311.84.2.1.1.1']) {
      assert.ok(parsed.includes(name), `asn1parse shows ${name}`);
    }
    assert.doesNotMatch(parsed, /:id-smime-aa-signingCertificate\s*$/m, 'no signing-certificate v1');

    let repositorySigner: X509Certificate;
    if (primaryType === OID.receipt) {
      checkRepositorySigner(primary, primaryCert, true);
      assert.equal(counters.length, 0, 'a repository primary signature carries no repository countersignature (NU3033)');
      repositorySigner = new X509Certificate(Buffer.from(primaryCert.toSchema().toBER(false)));
    } else {
      assert.equal(primaryType, OID.origin, 'the primary is an author signature');
      const repo = counters.map((c) => new pkijs.SignerInfo({ schema: c }));
      assert.equal(repo.length, 1, 'exactly one repository countersignature (NU3032)');
      const counter = repo[0]!;
      const cert = signerCert(counter, certs);
      checkRepositorySigner(counter, cert, false);
      const digest = attr(counter, OID.messageDigest)![0] as asn1js.OctetString;
      assert.deepEqual(Buffer.from(digest.valueBlock.valueHexView), createHash('sha256').update(Buffer.from(primary.signature.valueBlock.valueHexView)).digest(), 'the countersignature digests the author signature value');
      const signedAttrs = Buffer.from(counter.signedAttrs!.encodedValue);
      assert.equal(signedAttrs[0], 0x31);
      const x509 = new X509Certificate(Buffer.from(cert.toSchema().toBER(false)));
      assert.ok(verify('sha256', signedAttrs, x509.publicKey, Buffer.from(counter.signature.valueBlock.valueHexView)), 'the countersignature verifies');
      repositorySigner = x509;
      // (pkijs' SignedData.verify cannot check it: it demands a content-type attribute, which RFC 5652 §11.4 forbids here.)
    }
    // The repository signer chains to the given root with the embedded certificates alone.
    await writeFile(join(dir, 'repo-root.pem'), options.repositoryRootPem);
    await writeFile(join(dir, 'signer.pem'), repositorySigner.toString());
    const chain = await openssl(['verify', '-CAfile', join(dir, 'repo-root.pem'), join(dir, 'signer.pem')]);
    assert.ok(chain.ok && /OK/.test(chain.out), `the repository signer chains to the expected root: ${chain.out}`);
    const embedded = new Set(certs.map((c) => createHash('sha256').update(Buffer.from(c.toSchema().toBER(false))).digest('hex')));
    assert.ok(embedded.has(createHash('sha256').update(new X509Certificate(options.repositoryRootPem).raw).digest('hex')), 'the root is embedded (NuGet builds the chain from the embedded certificates)');
    return { unsigned, contentHash: z.sha512 as string, p7s, repositorySigner, cmsPrint };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
