/**
 * Upstream NuGet signers for fixtures, made independently of the mirror's own CMS code:
 * certificates by the openssl CLI, signatures by pkijs' own SignedData.sign, packages zipped and
 * signature entries appended by python3's zipfile. What the fixture feed serves is therefore real,
 * correctly signed NuGet packages that the mirror's code had no hand in.
 */
import { execFile } from 'node:child_process';
import { createHash, createPrivateKey, webcrypto } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';

const run = promisify(execFile);

type EngineCrypto = ConstructorParameters<typeof pkijs.CryptoEngine>[0]['crypto'];
pkijs.setEngine('fixture-webcrypto', new pkijs.CryptoEngine({ name: 'fixture-webcrypto', crypto: webcrypto as unknown as EngineCrypto }));

export interface UpstreamSigner {
  name: string;
  keyPem: string;
  certPem: string;
  certDer: Buffer;
  rootPem: string;
  rootDer: Buffer;
  /** Lowercase hex SHA-256 of the leaf DER. */
  fingerprint: string;
  /** File with the leaf certificate (PEM), for trust.certificates. */
  certFile: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  await run('openssl', args, { cwd });
}

/** A root CA and an RSA 2048 code-signing leaf under it, made by openssl. */
export async function makeUpstreamSigner(name: string, dir?: string): Promise<UpstreamSigner> {
  const work = dir ?? (await mkdtemp(join(tmpdir(), `nuget-signer-${name}-`)));
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'root.key', '-out', 'root.pem', '-subj', `/CN=${name} upstream root`, '-days', '3650',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], work);
  await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', `/CN=${name} signing`], work);
  await writeFile(join(work, 'leaf.ext'), 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\nsubjectKeyIdentifier=hash\n');
  await openssl(['x509', '-req', '-in', 'leaf.csr', '-CA', 'root.pem', '-CAkey', 'root.key', '-CAcreateserial', '-out', 'leaf.pem', '-days', '365', '-sha256', '-extfile', 'leaf.ext'], work);
  const certPem = await readFile(join(work, 'leaf.pem'), 'utf8');
  const rootPem = await readFile(join(work, 'root.pem'), 'utf8');
  const der = (pem: string) => Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  return {
    name, keyPem: await readFile(join(work, 'leaf.key'), 'utf8'), certPem, certDer: der(certPem), rootPem, rootDer: der(rootPem),
    fingerprint: createHash('sha256').update(der(certPem)).digest('hex'), certFile: join(work, 'leaf.pem'),
  };
}

const OID = {
  data: '1.2.840.113549.1.7.1',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  countersignature: '1.2.840.113549.1.9.6',
  commitment: '1.2.840.113549.1.9.16.2.16',
  origin: '1.2.840.113549.1.9.16.6.1',
  receipt: '1.2.840.113549.1.9.16.6.2',
  signingCertV2: '1.2.840.113549.1.9.16.2.47',
  serviceIndexUrl: '1.3.6.1.4.1.311.84.2.1.1.1',
  sha256: '2.16.840.1.101.3.4.2.1',
};

const ab = (b: Buffer): ArrayBuffer => b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer;

function nugetAttributes(signer: UpstreamSigner, type: 'author' | 'repository', digest: Buffer, withContentType: boolean, serviceIndexUrl: string): pkijs.Attribute[] {
  const cert = pkijs.Certificate.fromBER(ab(signer.certDer));
  const essCertId = new asn1js.Sequence({ value: [
    new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: OID.sha256 })] }),
    new asn1js.OctetString({ valueHex: ab(createHash('sha256').update(signer.certDer).digest()) }),
    new asn1js.Sequence({ value: [
      new asn1js.Sequence({ value: [new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 4 }, value: [cert.issuer.toSchema()] })] }),
      cert.serialNumber,
    ] }),
  ] });
  const attrs = [
    ...(withContentType ? [new pkijs.Attribute({ type: OID.contentType, values: [new asn1js.ObjectIdentifier({ value: OID.data })] })] : []),
    new pkijs.Attribute({ type: OID.messageDigest, values: [new asn1js.OctetString({ valueHex: ab(digest) })] }),
    new pkijs.Attribute({ type: OID.signingTime, values: [new asn1js.UTCTime({ valueDate: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)) })] }),
    new pkijs.Attribute({ type: OID.commitment, values: [new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: type === 'author' ? OID.origin : OID.receipt })] })] }),
    new pkijs.Attribute({ type: OID.signingCertV2, values: [new asn1js.Sequence({ value: [new asn1js.Sequence({ value: [essCertId] })] })] }),
  ];
  if (type === 'repository') attrs.push(new pkijs.Attribute({ type: OID.serviceIndexUrl, values: [new asn1js.IA5String({ value: serviceIndexUrl })] }));
  return attrs;
}

async function signingKey(signer: UpstreamSigner): Promise<webcrypto.CryptoKey> {
  const der = createPrivateKey(signer.keyPem).export({ type: 'pkcs8', format: 'der' });
  return webcrypto.subtle.importKey('pkcs8', der, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign']);
}

function signedData(signer: UpstreamSigner, content: Buffer | undefined, attrs: pkijs.Attribute[]): pkijs.SignedData {
  const cert = pkijs.Certificate.fromBER(ab(signer.certDer));
  const sd = new pkijs.SignedData({
    version: 1,
    encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: OID.data }),
    signerInfos: [new pkijs.SignerInfo({
      version: 1,
      sid: new pkijs.IssuerAndSerialNumber({ issuer: cert.issuer, serialNumber: cert.serialNumber }),
      signedAttrs: new pkijs.SignedAndUnsignedAttributes({ type: 0, attributes: attrs }),
    })],
    certificates: [cert, pkijs.Certificate.fromBER(ab(signer.rootDer))],
  });
  // DER, as .NET writes it (pkijs' constructor would make the content a constructed OCTET STRING).
  if (content) sd.encapContentInfo.eContent = new asn1js.OctetString({ valueHex: ab(content) });
  return sd;
}

const encode = (sd: pkijs.SignedData): Buffer =>
  Buffer.from(new pkijs.ContentInfo({ contentType: '1.2.840.113549.1.7.2', content: sd.toSchema(true) }).toSchema().toBER(false));

/** The `.signature.p7s` NuGet would write for `unsignedPackage`, signed by `signer` as `type`. */
export async function packageSignature(unsignedPackage: Buffer, signer: UpstreamSigner, type: 'author' | 'repository', serviceIndexUrl = 'https://upstream.example/v3/index.json'): Promise<Buffer> {
  const content = Buffer.from(`Version:1\n\n2.16.840.1.101.3.4.2.1-Hash:${createHash('sha256').update(unsignedPackage).digest('base64')}\n\n`);
  const sd = signedData(signer, content, nugetAttributes(signer, type, createHash('sha256').update(content).digest(), true, serviceIndexUrl));
  await sd.sign(await signingKey(signer), 0, 'SHA-256');
  return encode(sd);
}

/** `p7s` with a repository countersignature by `signer` added to its one SignerInfo (pkijs re-encodes the rest). */
export async function addRepositoryCountersignature(p7s: Buffer, signer: UpstreamSigner, serviceIndexUrl = 'https://upstream.example/v3/index.json'): Promise<Buffer> {
  const info = pkijs.ContentInfo.fromBER(ab(p7s));
  const author = new pkijs.SignedData({ schema: info.content });
  const value = Buffer.from(author.signerInfos[0]!.signature.valueBlock.valueHexView);
  const counter = signedData(signer, undefined, nugetAttributes(signer, 'repository', createHash('sha256').update(value).digest(), false, serviceIndexUrl));
  await counter.sign(await signingKey(signer), 0, 'SHA-256', ab(value));
  author.signerInfos[0]!.unsignedAttrs = new pkijs.SignedAndUnsignedAttributes({ type: 1, attributes: [new pkijs.Attribute({ type: OID.countersignature, values: [counter.signerInfos[0]!.toSchema()] })] });
  author.certificates = [...(author.certificates ?? []), ...(counter.certificates ?? [])];
  return encode(author);
}

const PY_ZIP = `
import sys, zipfile, json
spec = json.load(sys.stdin)
with zipfile.ZipFile(spec['out'], 'w', zipfile.ZIP_DEFLATED) as z:
    for name, text in spec['files']:
        info = zipfile.ZipInfo(name, date_time=(2025, 6, 1, 12, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(info, text)
`;

const PY_APPEND = `
import sys, zipfile, struct
with zipfile.ZipFile(sys.argv[1], 'a') as z:
    info = zipfile.ZipInfo('.signature.p7s', date_time=(2025, 6, 2, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    info.create_system = 0
    info.external_attr = 0
    z.writestr(info, open(sys.argv[2], 'rb').read())
# zipfile gives every entry rw-------- attributes; NuGet writes 0 and "version made by" 20.
data = bytearray(open(sys.argv[1], 'rb').read())
eocd = data.rfind(b'PK\x05\x06')
n, size, at = struct.unpack('<HII', data[eocd + 10:eocd + 20])
for _ in range(n):
    nl, el, cl = struct.unpack('<HHH', data[at + 28:at + 34])
    if data[at + 46:at + 46 + nl] == b'.signature.p7s':
        data[at + 4:at + 6] = struct.pack('<H', 20)
        data[at + 38:at + 42] = bytes(4)
    at += 46 + nl + el + cl
open(sys.argv[1], 'wb').write(bytes(data))
`;

function python(script: string, args: string[], input?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = execFile('python3', ['-c', script, ...args], (err) => (err ? reject(err) : resolve()));
    child.stdin?.end(input ?? '');
  });
}

/** An unsigned .nupkg made by python's zipfile: nuspec, a payload and the OPC parts. */
export async function buildNupkg(id: string, version: string, payload = `payload of ${id} ${version}`): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'nupkg-'));
  const out = join(dir, `${id}.${version}.nupkg`);
  const nuspec = `<?xml version="1.0" encoding="utf-8"?>\n<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">\n  <metadata>\n    <id>${id}</id>\n    <version>${version}</version>\n    <authors>Fixture</authors>\n    <description>Fixture package ${id}</description>\n  </metadata>\n</package>\n`;
  const files = [
    ['_rels/.rels', '<?xml version="1.0" encoding="utf-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"/>'],
    [`${id}.nuspec`, nuspec],
    ['lib/net8.0/readme.txt', payload],
    ['[Content_Types].xml', '<?xml version="1.0" encoding="utf-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'],
  ];
  await python(PY_ZIP, [], JSON.stringify({ out, files }));
  return readFile(out);
}

/** `unsignedPackage` with `p7s` appended as `.signature.p7s` by python's zipfile (stored, last). */
export async function withSignatureEntry(unsignedPackage: Buffer, p7s: Buffer): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'nupkg-sign-'));
  await writeFile(join(dir, 'p.nupkg'), unsignedPackage);
  await writeFile(join(dir, 'sig.p7s'), p7s);
  await python(PY_APPEND, [join(dir, 'p.nupkg'), join(dir, 'sig.p7s')]);
  return readFile(join(dir, 'p.nupkg'));
}

/** The signature value of the one SignerInfo in a package's `.signature.p7s` (read with python and pkijs). */
export async function unzipSignature(pkg: Buffer): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'nupkg-read-'));
  await writeFile(join(dir, 'p.nupkg'), pkg);
  const { stdout } = await run('python3', ['-c', "import sys, zipfile, base64; print(base64.b64encode(zipfile.ZipFile(sys.argv[1]).read('.signature.p7s')).decode())", join(dir, 'p.nupkg')]);
  const info = pkijs.ContentInfo.fromBER(ab(Buffer.from(stdout.trim(), 'base64')));
  return Buffer.from(new pkijs.SignedData({ schema: info.content }).signerInfos[0]!.signature.valueBlock.valueHexView);
}
