/**
 * A real npm registry on 127.0.0.1 for tests, built on startFixtureUpstream: packuments (full
 * and abbreviated by `Accept`, with ETag/304), `npm pack`-style tarballs, `/-/npm/v1/keys` and
 * `dist.signatures` made with a real P-256 key (formats-classic.md §1). Switches per version:
 * a signature by a wrong key, no signature, tampered tarball bytes, `dist.attestations`.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { startFixtureUpstream, type FixtureUpstream } from './fixture-upstream.js';
import { makeNpmSigningKey, type NpmRegistryKey, type NpmSigningKey } from './npm-keys.js';
import { compareVersions } from './npm-semver.js';
import { packTarball } from './npm-tarball.js';

export const CORGI_TYPE = 'application/vnd.npm.install-v1+json';

export interface NpmPublishSpec {
  /** Plain or scoped (`@org/demo-b`). */
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  /** Extra files, relative to the package root; `index.js` and `README.md` are made if absent. */
  files?: Record<string, string | Buffer>;
  /** Extra package.json fields (bin, engines, ...), copied into the version manifest too. */
  manifest?: Record<string, unknown>;
  /** Publish time; default: now (strictly after the previous publish). */
  time?: Date | string;
  /** Dist-tag to point at this version; by default `latest` follows the highest version. */
  tag?: string;
  /**
   * 'valid' (default): by the published key. 'wrong-key': claims the published key id, signed
   * by another key (pacote: EINTEGRITYSIGNATURE). 'unknown-key': by a key whose id is not
   * published (EMISSINGSIGNATUREKEY). 'none': no dist.signatures at all.
   */
  signature?: 'valid' | 'wrong-key' | 'unknown-key' | 'none';
  /** Serve tarball bytes that do not match dist.integrity / shasum. */
  tamper?: boolean;
  /** Add dist.attestations pointing at `<registry>/-/npm/v1/attestations/<name>@<version>`. */
  attestations?: boolean;
}

export interface PublishedVersion {
  name: string;
  version: string;
  integrity: string;
  shasum: string;
  /** Pathname of the tarball on the registry, e.g. `/@org/demo-b/-/demo-b-1.0.0.tgz`. */
  tarballPath: string;
  /** The bytes dist.integrity describes (not the served bytes when tampered). */
  bytes: Buffer;
}

export interface FixtureNpmRegistry {
  readonly url: string;
  readonly port: number;
  /** The underlying fixture: setMode/setFile/setHandler/log for anything not covered here. */
  readonly upstream: FixtureUpstream;
  /** The published signing key (until rekey), and one that is never published. */
  readonly key: NpmSigningKey;
  readonly wrongKey: NpmSigningKey;
  readonly keysDocument: { keys: NpmRegistryKey[] };
  publish(spec: NpmPublishSpec): PublishedVersion;
  /**
   * The registry rotates to a new key: `/-/npm/v1/keys` lists only it and every version is
   * signed anew with it (as a registry re-signing its packuments would, or an impostor).
   */
  rekey(): NpmSigningKey;
  /**
   * Serves `doc` as the full packument of `name` from now on (an older revision, a forged one);
   * `undefined` goes back to the live document.
   */
  serveDocument(name: string, doc: Record<string, unknown> | undefined): void;
  /** The document the registry serves now, full or abbreviated. */
  packument(name: string, abbreviated?: boolean): Record<string, unknown>;
  /** `/name` or `/@scope%2fname`. */
  packumentPath(name: string): string;
  tarballPath(name: string, version: string): string;
  /** Requests for one exact pathname (query ignored), or all. */
  requests(path?: string): number;
  /** Requests for a packument under any of its spellings. */
  packumentRequests(name: string): number;
  resetCounts(): void;
  stop(): Promise<void>;
  restart(): Promise<void>;
}

interface StoredVersion {
  manifest: Record<string, unknown>;
  time: string;
  published: PublishedVersion;
  spec: NpmPublishSpec;
}

interface StoredPackage {
  created: string;
  modified: string;
  versions: Map<string, StoredVersion>;
  tags: Map<string, string>;
}

const ABBREVIATED_FIELDS = ['name', 'version', 'dependencies', 'optionalDependencies', 'devDependencies', 'bundleDependencies', 'peerDependencies', 'peerDependenciesMeta', 'bin', 'directories', 'dist', 'engines', '_hasShrinkwrap', 'hasInstallScript', 'deprecated', 'cpu', 'os', 'funding', 'license'];

export async function startFixtureNpmRegistry(opts: { keyExpires?: string | null } = {}): Promise<FixtureNpmRegistry> {
  const upstream = await startFixtureUpstream();
  let key = makeNpmSigningKey();
  const wrongKey = makeNpmSigningKey();
  let keysDocument = { keys: [key.entry(opts.keyExpires ?? null)] };
  const forged = new Map<string, Record<string, unknown>>();
  const packages = new Map<string, StoredPackage>();
  let clock = Date.parse('2024-06-01T00:00:00.000Z');

  upstream.setFile('/-/npm/v1/keys', JSON.stringify(keysDocument), { contentType: 'application/json' });

  const tarballPath = (name: string, version: string): string => `/${name}/-/${name.split('/').pop()}-${version}.tgz`;
  const packumentPaths = (name: string): string[] =>
    name.startsWith('@') ? [`/${name.replace('/', '%2f')}`, `/${name.replace('/', '%2F')}`, `/${name}`] : [`/${name}`];

  const fullDocument = (name: string, pkg: StoredPackage): Record<string, unknown> => {
    const versions: Record<string, unknown> = {};
    const time: Record<string, string> = { created: pkg.created, modified: pkg.modified };
    for (const [v, stored] of pkg.versions) {
      versions[v] = withDist(stored);
      time[v] = stored.time;
    }
    const rev = createHash('md5').update(JSON.stringify(versions)).digest('hex');
    return {
      _id: name,
      _rev: `${pkg.versions.size}-${rev}`,
      name,
      description: `${name} (fixture)`,
      'dist-tags': Object.fromEntries(pkg.tags),
      versions,
      time,
      maintainers: [{ name: 'fixture', email: 'fixture@example.test' }],
      license: 'MIT',
      readme: `# ${name}\n`,
      readmeFilename: 'README.md',
    };
  };

  const abbreviatedDocument = (name: string, pkg: StoredPackage): Record<string, unknown> => {
    const versions: Record<string, unknown> = {};
    for (const [v, stored] of pkg.versions) {
      const full = withDist(stored);
      versions[v] = Object.fromEntries(ABBREVIATED_FIELDS.filter((f) => f in full).map((f) => [f, full[f]]));
    }
    return { name, modified: pkg.modified, 'dist-tags': Object.fromEntries(pkg.tags), versions };
  };

  let signedOnce = new WeakMap<StoredVersion, { keyid: string; sig: string }[]>();
  const signVersion = ({ published: p, spec }: StoredVersion): { keyid: string; sig: string }[] => {
    const signature = spec.signature ?? 'valid';
    if (signature === 'valid') return [key.signVersion(p.name, p.version, p.integrity)];
    if (signature === 'wrong-key') return [wrongKey.signVersion(p.name, p.version, p.integrity, key.keyid)];
    if (signature === 'unknown-key') return [wrongKey.signVersion(p.name, p.version, p.integrity)];
    return [];
  };

  const withDist = (stored: StoredVersion): Record<string, unknown> => {
    const { published: p, spec } = stored;
    const dist: Record<string, unknown> = {
      integrity: p.integrity,
      shasum: p.shasum,
      tarball: `${upstream.url}${p.tarballPath}`,
      fileCount: stored.manifest['_fileCount'],
      unpackedSize: stored.manifest['_unpackedSize'],
    };
    // Signed once per version, as a registry does: ECDSA signatures are randomised, and a document
    // that changed on every request would defeat ETag revalidation.
    const signatures = signedOnce.get(stored) ?? signVersion(stored);
    signedOnce.set(stored, signatures);
    if (signatures.length > 0) dist['signatures'] = signatures;
    if (spec.attestations) {
      dist['attestations'] = { url: `${upstream.url}/-/npm/v1/attestations/${p.name}@${p.version}`, provenance: { predicateType: 'https://slsa.dev/provenance/v1' } };
    }
    const { _fileCount: _f, _unpackedSize: _u, ...manifest } = stored.manifest;
    return { ...manifest, dist };
  };

  const servePackument = (name: string) => (req: IncomingMessage, res: ServerResponse): void => {
    const pkg = packages.get(name);
    if (!pkg) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error":"Not found"}');
      return;
    }
    const corgi = (req.headers.accept ?? '').includes(CORGI_TYPE);
    const body = Buffer.from(JSON.stringify(forged.get(name) ?? (corgi ? abbreviatedDocument(name, pkg) : fullDocument(name, pkg))));
    const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`;
    const headers = { etag, 'last-modified': new Date(pkg.modified).toUTCString(), vary: 'accept', 'cache-control': 'public, max-age=300' };
    const inm = req.headers['if-none-match'];
    if (inm && inm.split(',').some((t) => t.trim().replace(/^W\//, '') === etag)) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    res.writeHead(200, { ...headers, 'content-type': corgi ? CORGI_TYPE : 'application/json', 'content-length': String(body.length) });
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  const publish = (spec: NpmPublishSpec): PublishedVersion => {
    const { name, version } = spec;
    const pkgJson: Record<string, unknown> = { name, version, description: `${name} (fixture)`, main: 'index.js', license: 'MIT', ...spec.manifest };
    if (spec.dependencies && Object.keys(spec.dependencies).length > 0) pkgJson['dependencies'] = spec.dependencies;
    const files: Record<string, string | Buffer> = {
      'index.js': `module.exports = ${JSON.stringify({ name, version })};\n`,
      'README.md': `# ${name}\n\nversion ${version}\n`,
      ...spec.files,
      'package.json': `${JSON.stringify(pkgJson, null, 2)}\n`,
    };
    const packed = packTarball(files);
    const path = tarballPath(name, version);
    const served = spec.tamper ? packTarball({ ...files, 'index.js': 'module.exports = "tampered";\n' }).bytes : packed.bytes;
    upstream.setFile(path, served, { contentType: 'application/octet-stream' });

    clock = Math.max(clock + 1000, Date.now() - 3_600_000);
    const time = spec.time === undefined ? new Date(clock).toISOString() : new Date(spec.time).toISOString();
    let pkg = packages.get(name);
    if (!pkg) {
      pkg = { created: time, modified: time, versions: new Map(), tags: new Map() };
      packages.set(name, pkg);
      for (const p of packumentPaths(name)) upstream.setHandler(p, servePackument(name));
    }
    pkg.modified = time > pkg.modified ? time : new Date(Date.parse(pkg.modified) + 1000).toISOString();
    const published: PublishedVersion = { name, version, integrity: packed.integrity, shasum: packed.shasum, tarballPath: path, bytes: packed.bytes };
    const manifest = {
      ...pkgJson,
      _id: `${name}@${version}`,
      _nodeVersion: '20.20.0',
      _npmVersion: '11.19.1',
      _npmUser: { name: 'fixture', email: 'fixture@example.test' },
      maintainers: [{ name: 'fixture', email: 'fixture@example.test' }],
      directories: {},
      _hasShrinkwrap: false,
      _fileCount: packed.fileCount,
      _unpackedSize: packed.unpackedSize,
    };
    pkg.versions.set(version, { manifest, time, published, spec });
    if (spec.tag) pkg.tags.set(spec.tag, version);
    const latest = pkg.tags.get('latest');
    if (spec.tag === undefined && (latest === undefined || compareVersions(version, latest) > 0)) pkg.tags.set('latest', version);
    return published;
  };

  return {
    get url() {
      return upstream.url;
    },
    get port() {
      return upstream.port;
    },
    upstream,
    get key() {
      return key;
    },
    wrongKey,
    get keysDocument() {
      return keysDocument;
    },
    publish,
    rekey() {
      key = makeNpmSigningKey();
      keysDocument = { keys: [key.entry(opts.keyExpires ?? null)] };
      upstream.setFile('/-/npm/v1/keys', JSON.stringify(keysDocument), { contentType: 'application/json' });
      signedOnce = new WeakMap();
      for (const pkg of packages.values()) pkg.modified = new Date(Date.parse(pkg.modified) + 1000).toISOString();
      return key;
    },
    serveDocument(name, doc) {
      if (doc) forged.set(name, doc);
      else forged.delete(name);
    },
    packument(name, abbreviated = false) {
      const pkg = packages.get(name);
      if (!pkg) throw new Error(`fixture registry: no package ${name}`);
      return abbreviated ? abbreviatedDocument(name, pkg) : fullDocument(name, pkg);
    },
    packumentPath: (name) => packumentPaths(name)[0]!,
    tarballPath,
    requests: (path) => upstream.requests(path),
    packumentRequests: (name) => packumentPaths(name).reduce((n, p) => n + upstream.requests(p), 0),
    resetCounts: () => upstream.resetCounts(),
    stop: () => upstream.stop(),
    restart: () => upstream.restart(),
  };
}
