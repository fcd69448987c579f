/**
 * A NuGet v3 feed on a fixture upstream, laid out like the public gallery: the service index at
 * `<base>/v3/index.json`, the flat container at `<base>/v3-flatcontainer/`, a semver2 registration
 * hive served gzip-encoded (Content-Encoding: gzip, whatever the request asks), search on another
 * host, and the upstream's own RepositorySignatures resource.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { FixtureUpstream } from './fixture-upstream.js';
import type { UpstreamSigner } from './nuget-fixture-sign.js';

export const FEED_BASE = '/api';

interface Published {
  version: string;
  bytes: Buffer;
  /** Publish packageHash in the registration (default true). */
  packageHash: boolean;
}

export class NugetFeed {
  readonly #upstream: FixtureUpstream;
  readonly #packages = new Map<string, Published[]>();
  #signers: UpstreamSigner[];

  constructor(upstream: FixtureUpstream, repositorySigners: UpstreamSigner[] = []) {
    this.#upstream = upstream;
    this.#signers = repositorySigners;
    this.publishIndex();
    // Search on the upstream's own origin (served through the mirror), echoing what it was asked.
    upstream.setHandler('/search/query', (req, res) => {
      const q = new URL(req.url ?? '/', 'http://x').searchParams;
      res.writeHead(200, { 'content-type': 'application/json', 'set-cookie': 'upstream=1' });
      res.end(JSON.stringify({ totalHits: 1, data: [{ id: q.get('q'), version: '1.0.0' }], authorization: req.headers.authorization ?? null, cookie: req.headers.cookie ?? null }));
    });
  }

  /** Where the service index says search is (the upstream's own origin). */
  get searchUrl(): string {
    return `${this.#upstream.url}/search/query`;
  }

  /** The upstream URL to configure (the base; the service index is at v3/index.json under it). */
  get base(): string {
    return `${this.#upstream.url}${FEED_BASE}`;
  }

  get flat(): string {
    return `${this.base}/v3-flatcontainer/`;
  }

  get registration(): string {
    return `${this.base}/v3/registration5-gz-semver2/`;
  }

  /** Upstream path (under the fixture root) of a package. */
  packagePath(id: string, version: string): string {
    const lid = id.toLowerCase();
    return `${FEED_BASE}/v3-flatcontainer/${lid}/${version}/${lid}.${version}.nupkg`;
  }

  publish(id: string, version: string, bytes: Buffer, opts: { packageHash?: boolean } = {}): void {
    const lid = id.toLowerCase();
    const list = (this.#packages.get(lid) ?? []).filter((p) => p.version !== version);
    list.push({ version, bytes, packageHash: opts.packageHash ?? true });
    this.#packages.set(lid, list);
    this.#upstream.setFile(this.packagePath(id, version), bytes, { contentType: 'application/octet-stream' });
    this.#upstream.setFile(`${FEED_BASE}/v3-flatcontainer/${lid}/index.json`, JSON.stringify({ versions: list.map((p) => p.version) }), { contentType: 'application/json' });
    this.#publishRegistration(lid);
  }

  /** Changes the certificates the upstream's RepositorySignatures resource lists (an upstream rotating its key). */
  setRepositorySigners(signers: UpstreamSigner[]): void {
    this.#signers = signers;
    this.publishIndex();
  }

  /** (Re)publishes the service index and the upstream's RepositorySignatures resource. */
  publishIndex(): void {
    const resources = [
      { '@id': this.flat, '@type': 'PackageBaseAddress/3.0.0' },
      { '@id': this.registration, '@type': 'RegistrationsBaseUrl/3.6.0' },
      { '@id': this.searchUrl, '@type': 'SearchQueryService/3.5.0' },
      { '@id': 'https://search.upstream.example/autocomplete', '@type': 'SearchAutocompleteService/3.5.0' },
      { '@id': `${this.base}/v3/repository-signatures/index.json`, '@type': 'RepositorySignatures/5.0.0' },
    ];
    this.#upstream.setFile(`${FEED_BASE}/v3/index.json`, JSON.stringify({ version: '3.0.0', resources }, null, 2), { contentType: 'application/json' });
    this.#upstream.setFile(`${FEED_BASE}/v3/repository-signatures/index.json`, JSON.stringify({
      allRepositorySigned: true,
      signingCertificates: this.#signers.map((s) => ({ fingerprints: { '2.16.840.1.101.3.4.2.1': s.fingerprint }, subject: `CN=${s.name} signing`, issuer: `CN=${s.name} upstream root`, notBefore: '2026-01-01T00:00:00.0000000Z', notAfter: '2027-01-01T00:00:00.0000000Z', contentUrl: 'https://upstream.example/cert.crt' })),
    }), { contentType: 'application/json' });
  }

  #publishRegistration(lid: string): void {
    const list = this.#packages.get(lid) ?? [];
    const index = `${this.registration}${lid}/index.json`;
    const leaves = list.map((p) => ({
      '@id': `${this.registration}${lid}/${p.version}.json`,
      '@type': 'Package',
      catalogEntry: {
        '@id': `https://catalog.upstream.example/data/${lid}.${p.version}.json`,
        id: lid,
        version: p.version,
        listed: true,
        ...(p.packageHash ? { packageHash: createHash('sha512').update(p.bytes).digest('base64'), packageHashAlgorithm: 'SHA512' } : {}),
      },
      packageContent: `${this.flat}${lid}/${p.version}/${lid}.${p.version}.nupkg`,
      registration: index,
    }));
    const doc = {
      '@id': index, count: 1,
      items: [{ '@id': `${index}#page/first/last`, count: leaves.length, lower: list[0]?.version, upper: list.at(-1)?.version, items: leaves }],
    };
    const path = `${FEED_BASE}/v3/registration5-gz-semver2/${lid}/index.json`;
    const gz = gzipSync(Buffer.from(JSON.stringify(doc)));
    // As the gallery's gz hives: stored compressed, always sent with Content-Encoding: gzip.
    this.#upstream.setHandler(path, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': gz.length });
      res.end(gz);
    });
    for (const leaf of leaves) {
      this.#upstream.setFile(new URL(leaf['@id']).pathname, JSON.stringify({ '@id': leaf['@id'], catalogEntry: leaf.catalogEntry['@id'], listed: true, packageContent: leaf.packageContent, registration: index }), { contentType: 'application/json' });
    }
  }
}
