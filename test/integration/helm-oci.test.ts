/**
 * Charts hosted in an OCI registry (`helm push` to `oci://…`) go through `format: oci`, not
 * `format: helm`: a chart pushed to the real CNCF distribution registry as Helm pushes it (an OCI
 * image manifest with Helm's config, chart and provenance media types) is served by the mirror
 * under `/v2/<repo>/…` byte-identical, the chart layer checked against its digest, and the manifest
 * cosigned by the org key (`sha256-<hex>.sig`) like any other OCI manifest.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { putManifest, uploadBlob } from '../helpers/docker-manifest-list.js';
import { packageChart, type FixtureChart } from '../helpers/helm-fixture.js';
import { removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';
import { startFixtureRegistry, type FixtureRegistry } from '../helpers/oci-fixture-registry.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
// helm/helm pkg/registry/constants.go
const HELM_CONFIG = 'application/vnd.cncf.helm.config.v1+json';
const HELM_CHART = 'application/vnd.cncf.helm.chart.content.v1.tar+gzip';
const HELM_PROV = 'application/vnd.cncf.helm.chart.provenance.v1.prov';

const digestOf = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('helm: charts in an OCI registry go through format: oci', () => {
  let registry: FixtureRegistry;
  let mirror: RunningMirror;
  let chart: FixtureChart;
  let manifest: Buffer;

  before(async () => {
    registry = await startFixtureRegistry();
    chart = await packageChart('ocidemo', '0.1.0');
    const backend = `http://${registry.backendHost}`;
    const config = Buffer.from(JSON.stringify({ apiVersion: 'v2', name: 'ocidemo', version: '0.1.0', type: 'application' }));
    const prov = Buffer.from('-----BEGIN PGP SIGNED MESSAGE-----\n(author provenance layer, passed through)\n');
    for (const blob of [config, chart.bytes, prov]) await uploadBlob(backend, 'charts/ocidemo', blob);
    manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: HELM_CONFIG, digest: digestOf(config), size: config.length },
      layers: [
        { mediaType: HELM_CHART, digest: digestOf(chart.bytes), size: chart.bytes.length },
        { mediaType: HELM_PROV, digest: digestOf(prov), size: prov.length },
      ],
      annotations: { 'org.opencontainers.image.title': 'ocidemo', 'org.opencontainers.image.version': '0.1.0' },
    }));
    await putManifest(backend, 'charts/ocidemo', '0.1.0', manifest, OCI_MANIFEST);
    mirror = await startMirror({ repositories: [{ name: 'helmoci', format: 'oci', upstream: registry.url, verify: 'warn', retries: 0 }] });
  });

  after(async () => {
    await mirror?.close();
    await registry?.stop();
    if (mirror) await removeDir(mirror.dataDir);
  });

  test('the chart manifest and layer are served byte-identical, and the manifest is cosigned by the org', async () => {
    const res = await mirror.get('/v2/helmoci/charts/ocidemo/manifests/0.1.0', { headers: { accept: OCI_MANIFEST } });
    assert.equal(res.status, 200);
    const served = Buffer.from(await res.arrayBuffer());
    assert.ok(served.equals(manifest));
    const layer = await mirror.get(`/v2/helmoci/charts/ocidemo/blobs/${digestOf(chart.bytes)}`);
    assert.equal(layer.status, 200);
    assert.ok(Buffer.from(await layer.arrayBuffer()).equals(chart.bytes));
    const sig = await mirror.get(`/v2/helmoci/charts/ocidemo/manifests/${digestOf(manifest).replace(':', '-')}.sig`, { headers: { accept: OCI_MANIFEST } });
    assert.equal(sig.status, 200, 'the org cosign signature of the chart manifest');
    const sigManifest = (await sig.json()) as { layers: { mediaType: string }[] };
    assert.ok(sigManifest.layers.some((l) => l.mediaType === 'application/vnd.dev.cosign.simplesigning.v1+json'));
  });
});
