/**
 * Python (simple repository API, PEP 503/691, and the JSON API): project pages in JSON or HTML by
 * content negotiation, files on the mirror checked against the hashes their verified page vouched
 * for, PEP 658 metadata files, PEP 740 provenance passed through, and a detached OpenPGP signature
 * by the organisation key for every file (`<file>.asc`, `gpg-sig` true).
 * The upstream's pages carry no signature: its JSON pages are read (PEP 691), and under `verify:
 * require` each file's first hash is pinned (`anchor: first-use`), a later change refused.
 */
import { LRUCache } from 'lru-cache';
import { MirrorError } from '../../errors.js';
import type { Classified, FormatAdapter, FormatRepository, ObjectRef, VerifyOutcome } from '../types.js';
import { checkFiles } from './check-files.js';
import { isDistFileName, isProjectName, normalizeProject } from './names.js';
import { negotiatePage } from './negotiate.js';
import { MAX_PAGE_BYTES, PageFormatError, parseProjectPage, SIMPLE_HTML, SIMPLE_JSON, type ProjectPage } from './project-page.js';
import { resolveProvenance, verifyProvenance } from './provenance.js';
import { pageHtml, pageJson, servedPage } from './served-page.js';
import { setupSnippet } from './setup.js';
import { pypiTrustSchema, type PypiTrust } from './trust.js';
import { upstreamBaseUrl } from '../upstream-base.js';
import { pageUrl } from './upstream-base.js';
import { originSet, upstreamOf } from './file-url.js';
import { jsonApiRef, deriveJsonApi, verifyJsonApi } from './json-api.js';

const OCTETS = 'application/octet-stream';

export const pypiFormat: FormatAdapter<PypiTrust> = {
  name: 'pypi',
  trustSchema: pypiTrustSchema,

  async open({ repository, verify, anchor, upstream, redirectOrigins, repositoryUrl }): Promise<FormatRepository> {
    if (verify === 'require' && anchor !== 'first-use') {
      throw new MirrorError(
        'CONFIG_INVALID',
        `Repository "${repository}" has verify: require, but a Python index carries no signature the operator could pin: `
          + 'set anchor: first-use (each file\'s first hash is pinned and a change refused), or verify: warn',
        { repository },
      );
    }
    const base = upstreamBaseUrl(upstream);
    // Files on another origin (an index's files host) are served only from origins the operator allowed.
    const origins = originSet(redirectOrigins);
    const parsed = new LRUCache<string, ProjectPage>({ max: 16 });
    const anchorOf = (): 'first-use' | 'none' => (anchor === 'first-use' ? 'first-use' : 'none');

    const pageRef = (project: string): ObjectRef => ({
      path: `simple/${project}`, mutable: true, contentType: SIMPLE_JSON, upstreamPath: `simple/${encodeURIComponent(project)}/`, accept: SIMPLE_JSON,
    });
    const page = (sha256: string, bytes: Buffer, project: string): ProjectPage => {
      const known = parsed.get(sha256);
      if (known) return known;
      const made = parseProjectPage(bytes, project, pageUrl(base, project), base, origins);
      parsed.set(sha256, made);
      return made;
    };

    return {
      classify(path, request): Classified {
        if (path === '-/setup') return { kind: 'generated', contentType: 'text/plain; charset=utf-8', generate: () => Buffer.from(setupSnippet(repository, repositoryUrl, verify)) };
        const segments = path.split('/');
        if (segments.at(-1) === '') segments.pop();
        const [top, name, ...rest] = segments;
        if (!name || !isProjectName(name)) return { kind: 'not-found', reason: `${path} names no valid project` };
        const project = normalizeProject(name);
        if (top === 'simple' && rest.length === 0) {
          const format = negotiatePage(request.accept);
          return { kind: 'view', of: pageRef(project), view: `simple-${format}`, contentType: format === 'json' ? SIMPLE_JSON : SIMPLE_HTML };
        }
        if (top === 'files' && rest.length > 0 && project === name) {
          const file = rest.join('/');
          if (file.endsWith('.asc')) return { kind: 'signature', scheme: 'openpgp-detached', of: path.slice(0, -4), contentType: 'application/pgp-signature' };
          // Only distribution files and their metadata: the mirror is no proxy for anything else on the upstream.
          const last = rest.at(-1)!;
          if (!isDistFileName(last.endsWith('.metadata') ? last.slice(0, -9) : last)) return { kind: 'not-found', reason: `${last} is not a distribution file name` };
          const upstreamPath = upstreamOf(file, origins);
          if (upstreamPath === undefined) return { kind: 'not-found', reason: `${path} names no origin the mirror may fetch from` };
          return { kind: 'object', path: `files/${project}/${file}`, mutable: false, contentType: OCTETS, upstreamPath, requires: [pageRef(project)] };
        }
        if (top === 'provenance' && rest.length === 1 && project === name) {
          return { kind: 'indexed', index: { ...pageRef(project), pinned: true }, resolve: (input) => resolveProvenance(page(input.sha256, input.bytes, project), project, rest[0]!, base, origins, pageRef(project)) };
        }
        if (top === 'pypi') {
          const ref = jsonApiRef(project, rest);
          if (ref) return { kind: 'view', of: ref, view: 'json-api', contentType: 'application/json' };
        }
        return { kind: 'not-found', reason: `${path} is not a path of the Python repository API` };
      },

      async verify(ctx, object): Promise<VerifyOutcome> {
        const [top, project = ''] = object.path.split('/');
        if (top === 'files') {
          // The core already matched the bytes against every hash a page vouched for; verified means a
          // page verified under today's trust listed this file with a hash.
          const vouched = ctx.expectations(object.path);
          return vouched.length > 0
            ? { ok: true, by: vouched.map((e) => `hash:${e.algorithm}@${e.source}`), anchor: anchorOf() }
            : { ok: false, code: 'VERIFICATION_FAILED', reason: `${object.path} is not listed with a hash by any verified project page` };
        }
        if (top === 'provenance') return verifyProvenance(ctx, object, project, anchorOf());
        if (top === 'pypi') return verifyJsonApi(ctx, object, project, base, origins, anchorOf());
        // Checked before the bytes are read into memory.
        if (object.size > MAX_PAGE_BYTES) return { ok: false, code: 'MALFORMED', reason: `the project page is larger than ${MAX_PAGE_BYTES} bytes` };
        let doc: ProjectPage;
        try {
          doc = page(object.sha256, await object.readAll(), project);
        } catch (err) {
          if (err instanceof PageFormatError) return { ok: false, code: 'MALFORMED', reason: `malformed project page: ${err.message}` };
          throw err;
        }
        const check = checkFiles(ctx, project, doc.files);
        const revision = doc.lastSerial !== undefined ? { revision: { value: doc.lastSerial, label: `_last-serial ${doc.lastSerial}` } } : {};
        if (doc.files.length > 0 && check.accepted === 0) {
          return { ok: false, code: 'VERIFICATION_FAILED', reason: `no file of ${project} can be vouched for; e.g. ${check.rejected[0]?.item}: ${check.rejected[0]?.reason}` };
        }
        return { ok: true, by: [`page-hashes:${anchorOf()}`], vouches: check.vouches, rejected: check.rejected, anchor: anchorOf(), ...revision };
      },

      derive(ctx, view, input): Buffer {
        const [top, project = ''] = input.path.split('/');
        if (top === 'pypi') return deriveJsonApi(ctx, input, project, base, origins);
        let upstreamPage: ProjectPage;
        try {
          upstreamPage = page(input.sha256, input.bytes, project);
        } catch (err) {
          // Reached under verify: off, where nothing parsed the page before.
          if (err instanceof PageFormatError) throw new MirrorError('MALFORMED', `Refused ${input.path}: malformed project page: ${err.message}`, { repository, object: input.path });
          throw err;
        }
        // Today's mode and record: under require a refused file is left out; under warn/off it is listed,
        // and its `.asc` is by the unverified key (its own verification finds no verified hash).
        const dropped = new Set(ctx.mode === 'require' ? (input.verification.rejected ?? []).map((r) => r.item) : []);
        const served = servedPage(upstreamPage, { repositoryUrl: ctx.repositoryUrl, project, dropped, lenient: ctx.mode !== 'require' });
        if (view === 'simple-json') return pageJson(served);
        if (view === 'simple-html') return pageHtml(served);
        throw new MirrorError('INTERNAL', `pypi has no view "${view}"`, { repository, object: input.path });
      },

      responseHeaders(path): Record<string, string> {
        // One URL answers in two serialisations: caches in between must key on Accept.
        return path.startsWith('simple/') ? { vary: 'Accept' } : {};
      },
    };
  },
};
