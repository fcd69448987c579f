/**
 * A fixture Helm chart repository served by a real HTTP upstream: chart archives made with tar
 * in the layout `helm package` writes (`<name>/Chart.yaml`, values, templates; gzip'd tar), an
 * index.yaml with each archive's sha256 `digest`, written by hand as `helm repo index` lays it
 * out, and `.prov` files clearsigned by a chart author's gpg key over the body Helm signs.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { FixtureUpstream } from './fixture-upstream.js';
import type { ChartAuthorKey } from './helm-gpg.js';

const run = promisify(execFile);

export interface FixtureChart {
  name: string;
  version: string;
  fileName: string;
  bytes: Buffer;
  sha256: string;
  /** Chart.yaml as written into the archive: its keys already in the order Helm marshals them. */
  chartYaml: string;
}

/** A chart archive as `helm package` makes it. `description` varies the bytes of one name and version. */
export async function packageChart(name: string, version: string, description = `The ${name} chart`): Promise<FixtureChart> {
  const dir = await mkdtemp(join(tmpdir(), 'helm-chart-'));
  try {
    // Keys sorted, as Helm writes the metadata into the .prov body, so the body can be written from it by hand.
    const chartYaml = `apiVersion: v2\nappVersion: 1.16.0\ndescription: ${description}\nname: ${name}\ntype: application\nversion: ${version}\n`;
    await mkdir(join(dir, name, 'templates'), { recursive: true });
    await writeFile(join(dir, name, 'Chart.yaml'), chartYaml);
    await writeFile(join(dir, name, 'values.yaml'), 'replicaCount: 1\n');
    await writeFile(join(dir, name, 'templates', 'configmap.yaml'), `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-${name}\n`);
    const fileName = `${name}-${version}.tgz`;
    await run('tar', ['-C', dir, '--owner=0', '--group=0', '--mtime=@0', '-czf', join(dir, fileName), `${name}/Chart.yaml`, `${name}/values.yaml`, `${name}/templates`]);
    const bytes = await readFile(join(dir, fileName));
    return { name, version, fileName, bytes, sha256: createHash('sha256').update(bytes).digest('hex'), chartYaml };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The body `helm package --sign` signs for this archive (helm/helm pkg/provenance/sign.go messageBlock). */
export function helmProvenanceBody(chart: FixtureChart, fileName = chart.fileName, sha256 = chart.sha256): string {
  return `${chart.chartYaml}\n...\nfiles:\n  ${fileName}: sha256:${sha256}\n`;
}

export interface HelmRepoFixture {
  /** The repository URL clients (and the mirror's `upstream`) use. */
  url: string;
  charts: FixtureChart[];
  /** Publishes an archive (and its `.prov` when `signer` is given); call writeIndex after. */
  publish(chart: FixtureChart, opts?: { signer?: ChartAuthorKey; prov?: string; url?: 'relative' | 'absolute' | 'subdir' | 'foreign' }): Promise<void>;
  /** index.yaml listing every published chart; `generated` moves forward each time. */
  writeIndex(over?: { digestOf?: (c: FixtureChart) => string; generated?: string }): void;
}

export function helmRepo(upstream: FixtureUpstream, prefix: string): HelmRepoFixture {
  const charts: FixtureChart[] = [];
  const urls = new Map<FixtureChart, string>();
  let generated = Date.parse('2026-01-01T00:00:00Z');
  const url = `${upstream.url}${prefix}`;
  return {
    url,
    charts,
    async publish(chart, opts = {}) {
      const style = opts.url ?? 'relative';
      const path = style === 'subdir' ? `charts/${chart.fileName}` : chart.fileName;
      upstream.setFile(`${prefix}/${path}`, chart.bytes, { contentType: 'application/gzip' });
      if (opts.prov !== undefined) upstream.setFile(`${prefix}/${path}.prov`, opts.prov);
      else if (opts.signer) upstream.setFile(`${prefix}/${path}.prov`, await opts.signer.clearsign(helmProvenanceBody(chart)));
      const i = charts.findIndex((c) => c.fileName === chart.fileName);
      if (i >= 0) charts.splice(i, 1);
      charts.push(chart);
      urls.set(chart, style === 'absolute' ? `${url}/${path}` : style === 'foreign' ? `https://releases.upstream.example/download/${path}` : path);
    },
    writeIndex(over = {}) {
      generated += 60_000;
      const names = [...new Set(charts.map((c) => c.name))].sort();
      const lines = ['apiVersion: v1', 'entries:'];
      for (const name of names) {
        lines.push(`  ${name}:`);
        for (const c of charts.filter((x) => x.name === name)) {
          lines.push(
            '  - apiVersion: v2', '    appVersion: 1.16.0', '    created: "2026-01-01T00:00:00.000000000Z"', `    description: ${c.chartYaml.match(/^description: (.*)$/m)![1]}`,
            `    digest: ${over.digestOf ? over.digestOf(c) : c.sha256}`, `    name: ${name}`, '    type: application', '    urls:', `    - ${urls.get(c)}`, `    version: ${c.version}`,
          );
        }
      }
      lines.push(`generated: "${over.generated ?? new Date(generated).toISOString()}"`, '');
      upstream.setFile(`${prefix}/index.yaml`, lines.join('\n'), { contentType: 'application/x-yaml' });
    },
  };
}
