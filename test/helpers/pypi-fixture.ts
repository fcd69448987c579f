/**
 * A fixture Python index on a real HTTP server: project pages in PEP 691 JSON and PEP 503 HTML
 * by the Accept header (as the upstream index does), files under /packages/<digest prefix>/,
 * PEP 658 `.metadata` files, PEP 740 provenance and the JSON API, with `_last-serial`.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FixtureUpstream } from './fixture-upstream.js';
import type { BuiltDist } from './pypi-dists.js';

export interface PublishedFile {
  project: string;
  version: string;
  filename: string;
  sha256: string;
  /** Path on the fixture server. */
  path: string;
  metadataSha256: string;
  size: number;
  requiresPython?: string;
  yanked?: boolean | string;
  provenance?: boolean;
  /** A hash the page claims instead of the real one. */
  claimedSha256?: string;
}

export class PypiFixture {
  readonly upstream: FixtureUpstream;
  readonly files = new Map<string, PublishedFile[]>();
  serial = 100;
  /** Pages omit `_last-serial` when false. */
  sendSerial = true;

  /** Where files are hosted: the index itself (relative URLs), or another server (absolute URLs), as the public index does. */
  readonly filesHost: FixtureUpstream;

  constructor(upstream: FixtureUpstream, filesHost?: FixtureUpstream) {
    this.upstream = upstream;
    this.filesHost = filesHost ?? upstream;
  }

  publish(project: string, version: string, dist: BuiltDist, opts: Partial<Pick<PublishedFile, 'requiresPython' | 'yanked' | 'provenance'>> = {}): PublishedFile {
    const sha256 = hex(dist.bytes);
    const path = `/packages/${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${dist.filename}`;
    this.filesHost.setFile(path, dist.bytes);
    this.filesHost.setFile(`${path}.metadata`, dist.metadata);
    const file: PublishedFile = { project, version, filename: dist.filename, sha256, path, metadataSha256: hex(dist.metadata), size: dist.bytes.length, ...opts };
    const list = (this.files.get(project) ?? []).filter((f) => f.filename !== dist.filename);
    list.push(file);
    this.files.set(project, list);
    if (opts.provenance) this.upstream.setFile(provenancePath(file), JSON.stringify(provenanceOf(file.filename, sha256)), { contentType: 'application/json' });
    this.serial++;
    this.#route(project);
    return file;
  }

  /** The page's JSON as the upstream serves it now. */
  pageJson(project: string): Record<string, unknown> {
    const files = (this.files.get(project) ?? []).map((f) => ({
      filename: f.filename,
      // Relative to the page when the index hosts its files, as indexes may write them.
      url: this.filesHost === this.upstream ? `../..${f.path}` : `${this.filesHost.url}${f.path}`,
      hashes: { sha256: f.claimedSha256 ?? f.sha256 },
      ...(f.requiresPython ? { 'requires-python': f.requiresPython } : {}),
      'core-metadata': { sha256: f.metadataSha256 },
      'dist-info-metadata': { sha256: f.metadataSha256 },
      yanked: f.yanked ?? false,
      size: f.size,
      'upload-time': '2026-01-01T00:00:00.000000Z',
      ...(f.provenance ? { provenance: `${this.upstream.url}${provenancePath(f)}` } : {}),
    }));
    const meta: Record<string, unknown> = { 'api-version': '1.1' };
    if (this.sendSerial) meta['_last-serial'] = this.serial;
    return { meta, name: project, files, versions: [...new Set((this.files.get(project) ?? []).map((f) => f.version))] };
  }

  #route(project: string): void {
    const page = (req: IncomingMessage, res: ServerResponse): void => {
      const doc = this.pageJson(project);
      const json = (req.headers.accept ?? '').includes('application/vnd.pypi.simple.v1+json');
      const body = json ? JSON.stringify(doc) : htmlOf(doc);
      res.writeHead(200, { 'content-type': json ? 'application/vnd.pypi.simple.v1+json' : 'text/html', 'x-pypi-last-serial': String(this.serial) });
      res.end(body);
    };
    this.upstream.setHandler(`/simple/${project}/`, page);
    this.upstream.setHandler(`/pypi/${project}/json`, (_req, res) => {
      const list = this.files.get(project) ?? [];
      const entry = (f: PublishedFile) => ({
        filename: f.filename, url: `${this.filesHost.url}${f.path}`, digests: { sha256: f.claimedSha256 ?? f.sha256, md5: '0'.repeat(32) },
        size: f.size, yanked: Boolean(f.yanked), requires_python: f.requiresPython ?? null, has_sig: false,
        packagetype: f.filename.endsWith('.whl') ? 'bdist_wheel' : 'sdist',
      });
      const releases: Record<string, unknown[]> = {};
      for (const f of list) (releases[f.version] ??= []).push(entry(f));
      const latest = list.at(-1)?.version;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ info: { name: project, version: latest, home_page: 'https://upstream.example/' }, last_serial: this.serial, releases, urls: list.filter((f) => f.version === latest).map(entry) }));
    });
  }
}

export function provenancePath(f: PublishedFile): string {
  return `/integrity/${f.project}/${f.version}/${f.filename}/provenance`;
}

/** A PEP 740 provenance object whose statement names the file; the signature parts are placeholders. */
export function provenanceOf(filename: string, sha256: string): Record<string, unknown> {
  const statement = { _type: 'https://in-toto.io/Statement/v1', subject: [{ name: filename, digest: { sha256 } }], predicateType: 'https://docs.pypi.org/attestations/publish/v1', predicate: null };
  return {
    version: 1,
    attestation_bundles: [{
      publisher: { kind: 'GitHub', repository: 'example/project', workflow: 'release.yml', claims: null },
      attestations: [{ version: 1, verification_material: { certificate: 'AA==', transparency_entries: [] }, envelope: { statement: Buffer.from(JSON.stringify(statement)).toString('base64'), signature: 'AA==' } }],
    }],
  };
}

function htmlOf(doc: Record<string, unknown>): string {
  const files = doc.files as { filename: string; url: string; hashes: { sha256: string } }[];
  return `<!DOCTYPE html><html><body>${files.map((f) => `<a href="${f.url}#sha256=${f.hashes.sha256}">${f.filename}</a><br/>`).join('')}</body></html>`;
}

function hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
