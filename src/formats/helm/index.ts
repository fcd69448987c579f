/**
 * Helm chart repositories: index.yaml, chart archives and their provenance files.
 *
 * Upstream trust: index.yaml is not signed; it vouches for each chart's sha256 (`digest`), which
 * the core checks every archive against. What anchors a chart is, in order: its upstream `.prov`
 * verified with `trust.keyring` (the authors' keys the operator pinned; the `.prov` must name this
 * archive's file name and sha256), or, with `anchor: first-use`, its sha256 pinned the first time
 * (a chart republished with other bytes under the same name is refused). With neither, a chart is
 * checked against the index digest only: served under `warn`, signed by the unverified key;
 * `require` refuses to start without one of the two anchors.
 *
 * What clients get: index.yaml with chart URLs pointing at the mirror (digests and every other
 * field as upstream wrote them), archives byte-identical, and for every archive a `.prov` with the
 * body `helm package --sign` makes, clearsigned by the organisation key.
 */
import { LRUCache } from 'lru-cache';
import { MirrorError } from '../../errors.js';
import { loadOpenPgpKeyring, type OpenPgpKeyring } from '../../trust/openpgp-trust.js';
import { encodePath } from '../encode-path.js';
import type { Classified, FormatAdapter, FormatRepository, ObjectRef, UpstreamObject, VerifyContext, VerifyOutcome } from '../types.js';
import { ChartArchiveError, readChartYaml } from './chart-archive.js';
import { ChartMetadataError, parseChartYaml, type ChartMetadata } from './chart-metadata.js';
import { upstreamBaseUrl } from '../upstream-base.js';
import { chartFileName, isChartPath } from './chart-urls.js';
import { IndexYamlError, parseIndexYaml, servedIndexYaml, type ParsedIndex } from './index-yaml.js';
import { checkProvenance, provenanceBody } from './provenance.js';
import { setupSnippet } from './setup.js';
import { helmTrustSchema, type HelmTrust } from './trust.js';

const INDEX = 'index.yaml';
const YAML_TYPE = 'application/x-yaml';
const CHART_TYPE = 'application/gzip';
const PROV_TYPE = 'application/pgp-signature';
const MAX_PROV_BYTES = 256 * 1024;
/** Where the served index points a chart whose upstream URL is outside the upstream base. */
const OUTSIDE = '-/outside-upstream/';

export const helmFormat: FormatAdapter<HelmTrust> = {
  name: 'helm',
  trustSchema: helmTrustSchema,

  async open({ repository, trust, verify, anchor, upstream, repositoryUrl, readTrustFile }): Promise<FormatRepository> {
    if (verify === 'require' && !trust.keyring && anchor !== 'first-use') {
      throw new MirrorError(
        'CONFIG_INVALID',
        `Repository "${repository}" has verify: require but nothing the operator pinned to verify charts with (index.yaml is unsigned): `
          + "set trust.keyring (the chart authors' OpenPGP keys, for the upstream .prov files), or anchor: first-use (each chart's first sha256 is pinned), or verify: warn",
        { repository },
      );
    }
    const keyring: OpenPgpKeyring | undefined = trust.keyring ? await loadOpenPgpKeyring(await readTrustFile(trust.keyring), trust.keyring) : undefined;
    const base = upstreamBaseUrl(upstream);
    const parsedIndexes = new LRUCache<string, ParsedIndex>({ max: 2 });
    const indexOf = (sha256: string, bytes: Buffer): ParsedIndex => {
      const known = parsedIndexes.get(sha256);
      if (known) return known;
      const parsed = parseIndexYaml(bytes, base);
      parsedIndexes.set(sha256, parsed);
      return parsed;
    };

    const indexRef: ObjectRef = { path: INDEX, mutable: true, contentType: YAML_TYPE };
    // A chart is checked against the index clients were served.
    const chartRef = (path: string): ObjectRef => ({ path, mutable: false, contentType: CHART_TYPE, requires: [{ ...indexRef, pinned: true }] });
    const fail = (reason: string, code: 'VERIFICATION_FAILED' | 'MALFORMED' | 'TRUST_CHANGED' = 'VERIFICATION_FAILED'): VerifyOutcome => ({ ok: false, code, reason });

    const verifyIndex = async (object: UpstreamObject): Promise<VerifyOutcome> => {
      let parsed: ParsedIndex;
      try {
        parsed = indexOf(object.sha256, await object.readAll());
      } catch (err) {
        if (err instanceof IndexYamlError) return fail(err.message, 'MALFORMED');
        throw err;
      }
      const vouches = parsed.charts.flatMap((c) => (c.digest ? c.paths.map((path) => ({ path, algorithm: 'sha256' as const, digest: c.digest! })) : []));
      return {
        ok: true,
        by: [`index:${INDEX}`],
        vouches,
        // Unsigned: it names digests, it anchors nothing; each chart is anchored on its own.
        anchor: 'none',
        ...(parsed.generated !== undefined ? { revision: { value: parsed.generated, label: `generated: ${new Date(parsed.generated).toISOString()}` } } : {}),
      };
    };

    const verifyChart = async (ctx: VerifyContext, object: UpstreamObject): Promise<VerifyOutcome> => {
      let metadata: ChartMetadata;
      try {
        metadata = parseChartYaml(await readChartYaml(await object.readAll()));
      } catch (err) {
        if (err instanceof ChartArchiveError || err instanceof ChartMetadataError) return fail(`${object.path}: ${err.message}`, 'MALFORMED');
        throw err;
      }
      const listed = ctx.expectations(object.path).map((e) => `digest:sha256@${e.source}`);
      if (keyring) {
        const prov = await ctx.fetchAuxiliary(`${encodePath(object.path)}.prov`, MAX_PROV_BYTES);
        if (prov.kind === 'absent') return fail(`the upstream has no ${object.path}.prov to verify with trust.keyring`);
        const check = await checkProvenance(keyring, prov.bytes, { fileName: chartFileName(object.path), sha256: object.sha256, chartName: metadata.name });
        if (!check.ok) return fail(`${object.path}.prov: ${check.reason}`);
        return { ok: true, by: [`openpgp:${check.fingerprint}`, ...listed] };
      }
      if (listed.length === 0) return fail(`${object.path} is not listed with a digest in a verified ${INDEX}`);
      if (ctx.anchor === 'first-use') {
        const pinned = ctx.firstUse(`chart:${object.path}`, Buffer.from(object.sha256, 'utf8'));
        if (!pinned.ok) return fail(pinned.reason, 'TRUST_CHANGED');
        return { ok: true, by: listed, anchor: 'first-use' };
      }
      // The index digest checked the bytes, but nothing the operator pinned vouches for them.
      return { ok: true, by: listed, anchor: 'none' };
    };

    return {
      classify(path): Classified {
        if (path === INDEX) return { kind: 'view', of: indexRef, view: 'index', contentType: YAML_TYPE };
        if (path.startsWith(OUTSIDE)) {
          return { kind: 'not-found', reason: `the upstream index.yaml lists ${path.slice(OUTSIDE.length)} at a URL outside this repository's upstream: the mirror cannot fetch or verify it (it fetches charts from its upstream only)` };
        }
        if (path === '-/setup') return { kind: 'generated', contentType: 'text/plain; charset=utf-8', generate: () => Buffer.from(setupSnippet(repository, repositoryUrl, verify)) };
        if (path.endsWith('.tgz.prov') && isChartPath(path.slice(0, -5))) return { kind: 'view', of: chartRef(path.slice(0, -5)), view: 'prov', contentType: PROV_TYPE };
        if (isChartPath(path)) return { kind: 'object', ...chartRef(path) };
        return { kind: 'not-found', reason: `${path} is neither ${INDEX}, a chart archive (.tgz) nor its provenance (.tgz.prov)` };
      },

      verify(ctx, object): Promise<VerifyOutcome> {
        return object.path === INDEX ? verifyIndex(object) : verifyChart(ctx, object);
      },

      async derive(ctx, view, input): Promise<Buffer> {
        try {
          if (view === 'index') {
            return servedIndexYaml(indexOf(input.sha256, input.bytes), (p) => `${ctx.repositoryUrl}/${encodePath(p)}`, (name) => `${ctx.repositoryUrl}/${OUTSIDE}${name}`);
          }
          if (view === 'prov') {
            const metadata = parseChartYaml(await readChartYaml(input.bytes));
            const body = provenanceBody(metadata, chartFileName(input.path), input.sha256);
            return (await ctx.sign({ scheme: 'openpgp-cleartext', object: `${input.path}.prov`, data: body })).signature;
          }
        } catch (err) {
          if (err instanceof IndexYamlError || err instanceof ChartArchiveError || err instanceof ChartMetadataError) {
            throw new MirrorError('MALFORMED', `Cannot serve ${input.path}: ${err.message}`, { repository, object: input.path }, { cause: err });
          }
          throw err;
        }
        throw new MirrorError('INTERNAL', `helm has no view "${view}"`, { repository, object: input.path });
      },
    };
  },
};
