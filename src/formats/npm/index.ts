/**
 * npm registry: packuments (full and abbreviated), single versions, dist-tags and tarballs.
 * Upstream `dist.signatures` are verified with the upstream's registry keys (pinned, or pinned
 * on first use); served documents carry signatures by the organisation's ECDSA key (the
 * primary one for verified versions, the unverified one otherwise), published at
 * `/<repo>/-/npm/v1/keys`. See ../../../docs/npm.md for client setup.
 */
import { LRUCache } from 'lru-cache';
import { MirrorError } from '../../errors.js';
import type { Classified, FormatAdapter, FormatRepository, ObjectRef, VerifyOutcome } from '../types.js';
import { npmConfiguredRegistry } from './auto-upstream.js';
import { orgKeysDocument } from './org-keys.js';
import { escapedName, isPackageName, parsePackument, type Packument } from './packument.js';
import { RegistryKeySource } from './registry-key-source.js';
import { packumentRevision } from './revision.js';
import { npmTrustSchema, type NpmTrust } from './trust.js';
import { checkVersions } from './verify-versions.js';
import { abbreviated, servedPackument, singleVersion } from './views.js';

const CORGI = 'application/vnd.npm.install-v1+json';
const JSON_TYPE = 'application/json';

export const npmFormat: FormatAdapter<NpmTrust> = {
  name: 'npm',
  trustSchema: npmTrustSchema,
  pathPolicy: { scopedEncodedSlash: true },
  resolveAutoUpstream: npmConfiguredRegistry,

  async open({ repository, trust, verify, anchor, keys, readTrustFile, now }): Promise<FormatRepository> {
    const keySource = await RegistryKeySource.create({ repository, trust, verify, anchor, readTrustFile });
    // Parsed upstream documents, so the several views of one revision parse it once.
    const parsed = new LRUCache<string, Packument>({ max: 8 });

    const packumentRef = (name: string): ObjectRef => ({ path: name, mutable: true, contentType: JSON_TYPE, upstreamPath: escapedName(name), accept: JSON_TYPE });

    return {
      classify(path, request): Classified {
        const segments = path.split('/');
        if (segments[0] === '-') return classifySpecial(segments.slice(1));
        const scoped = segments[0]?.startsWith('@') ?? false;
        const name = scoped ? `${segments[0]}/${segments[1] ?? ''}` : (segments[0] ?? '');
        const rest = segments.slice(scoped ? 2 : 1);
        if (!isPackageName(name)) return { kind: 'not-found', reason: `"${name}" is not a valid package name` };
        const packument = packumentRef(name);
        if (rest.length === 0) {
          const corgi = request.accept?.includes(CORGI) ?? false;
          return { kind: 'view', of: packument, view: corgi ? 'abbreviated' : 'full', contentType: corgi ? CORGI : JSON_TYPE };
        }
        if (rest.length === 2 && rest[0] === '-' && rest[1]!.endsWith('.tgz')) {
          // Downloaded while its packument is fetched and verified, checked against it once both are in.
          return { kind: 'object', path: `${name}/-/${rest[1]}`, mutable: false, contentType: 'application/octet-stream', requires: [packument], downloadWithRequires: true };
        }
        if (rest.length === 1 && rest[0]) return { kind: 'view', of: packument, view: `version:${rest[0]}`, contentType: JSON_TYPE };
        return { kind: 'not-found', reason: `${path} is not an npm registry path` };

        function classifySpecial(s: string[]): Classified {
          const joined = s.join('/');
          if (joined === 'npm/v1/keys') return { kind: 'generated', contentType: JSON_TYPE, generate: () => orgKeysDocument(keys, { includeUnverified: verify !== 'require' }) };
          if (joined === 'ping') return { kind: 'generated', contentType: JSON_TYPE, generate: () => Buffer.from('{}') };
          if (s[0] === 'package' && s.at(-1) === 'dist-tags') {
            const name = s.slice(1, -1).join('/');
            if (isPackageName(name)) return { kind: 'view', of: packumentRef(name), view: 'dist-tags', contentType: JSON_TYPE };
          }
          return { kind: 'not-found', reason: `/-/${joined} is not served by this mirror` };
        }
      },

      async verify(ctx, object): Promise<VerifyOutcome> {
        if (object.path.includes('/-/')) {
          // Tarballs: the core already matched the bytes against every integrity a packument vouched for;
          // verified means a packument verified under today's trust vouched for one. Its anchor is the keys'.
          const vouched = ctx.expectations(object.path);
          return vouched.length > 0
            ? { ok: true, by: vouched.map((e) => `integrity:${e.algorithm}@${e.source}`), anchor: keySource.anchor }
            : { ok: false, code: 'VERIFICATION_FAILED', reason: `${object.path} is not listed with an integrity by any verified packument` };
        }
        // The upstream's keys (when none are pinned: a request upstream) are asked for while the
        // packument, often megabytes, is read and parsed, rather than one round trip after it.
        const keysAsked = keySource.ask(ctx);
        let doc: Packument;
        try {
          doc = parsePackument(await object.readAll(), object.path);
        } catch (err) {
          return { ok: false, code: 'MALFORMED', reason: `malformed packument: ${(err as Error).message}` };
        }
        parsed.set(object.sha256, doc);
        const registryKeys = await keySource.keys(ctx, keysAsked);
        // Under warn, versions that did not verify still vouch for their tarball's integrity (marked unverified).
        const check = checkVersions(doc, registryKeys.ok ? registryKeys.keys : [], { vouchForRejected: ctx.mode !== 'require' });
        const vouchesIfFailed = ctx.mode === 'require' ? [] : check.vouches;
        if (!registryKeys.ok) return { ok: false, code: 'TRUST_CHANGED', reason: registryKeys.reason, vouches: vouchesIfFailed };
        const total = Object.keys(doc.versions ?? {}).length;
        if (total > 0 && check.verified.length === 0) {
          const first = check.rejected[0];
          return {
            ok: false,
            code: 'VERIFICATION_FAILED',
            reason: `no version of ${doc.name} carries a valid upstream registry signature (${registryKeys.describe}); e.g. ${first?.item}: ${first?.reason}`,
            vouches: vouchesIfFailed,
          };
        }
        const revision = packumentRevision(doc, now());
        return {
          ok: true,
          by: [...check.keyIds].map((k) => `npm-registry-key:${k}`),
          vouches: check.vouches,
          rejected: check.rejected,
          anchor: registryKeys.anchor,
          ...(revision ? { revision } : {}),
        };
      },

      async derive(ctx, view, input): Promise<Buffer> {
        const doc = parsed.get(input.sha256) ?? parsePackument(input.bytes, input.path);
        parsed.set(input.sha256, doc);
        // Today's mode and today's record (the core re-verifies a record from another trust epoch before
        // deriving): under require a refused version is left out, under warn/off it is served, signed by
        // the unverified key (the ledger decides by `item`).
        const dropped = new Set(ctx.mode === 'require' ? (input.verification.rejected ?? []).map((r) => r.item) : []);
        const served = await servedPackument(ctx, doc, dropped);
        if (view === 'full') return Buffer.from(JSON.stringify(served.doc));
        if (view === 'abbreviated') return Buffer.from(JSON.stringify(abbreviated(served)));
        if (view === 'dist-tags') return Buffer.from(JSON.stringify(served.distTags));
        if (view.startsWith('version:')) return Buffer.from(JSON.stringify(singleVersion(served, view.slice(8), repository)));
        throw new MirrorError('INTERNAL', `npm has no view "${view}"`, { repository, object: input.path });
      },
    };
  },
};
