/**
 * Helm format, pure parts: the provenance body against Helm's own test vector (helm/helm
 * pkg/provenance/testdata: hashtest/Chart.yaml and msgblock.yaml, the body `helm package --sign`
 * made for it), chart URLs mapped to repository paths, index.yaml rewriting, Chart.yaml found in
 * archives tar writes (ustar, GNU and PAX), and hostile input refused precisely.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { ChartArchiveError, readChartYaml } from '../../src/formats/helm/chart-archive.js';
import { parseChartYaml } from '../../src/formats/helm/chart-metadata.js';
import { chartPathOf } from '../../src/formats/helm/chart-urls.js';
import { upstreamBaseUrl as upstreamBaseOf } from '../../src/formats/upstream-base.js';
import { IndexYamlError, parseIndexYaml, servedIndexYaml } from '../../src/formats/helm/index-yaml.js';
import { provenanceBody } from '../../src/formats/helm/provenance.js';

describe('helm: provenance body', () => {
  test("is byte-identical to the body Helm signed in its own test data (hashtest 1.2.3)", () => {
    const chartYaml = 'description: Test chart versioning\nname: hashtest\nversion: 1.2.3\n';
    const msgblock = 'apiVersion: v1\ndescription: Test chart versioning\nname: hashtest\nversion: 1.2.3\n\n...\nfiles:\n'
      + '  hashtest-1.2.3.tgz: sha256:c6841b3a895f1444a6738b5d04564a57e860ce42f8519c3be807fb6d9bee7888\n';
    const body = provenanceBody(parseChartYaml(Buffer.from(chartYaml)), 'hashtest-1.2.3.tgz', 'c6841b3a895f1444a6738b5d04564a57e860ce42f8519c3be807fb6d9bee7888');
    // The final line break belongs to the clearsign framing, not to the signed text.
    assert.equal(`${body}\n`, msgblock);
  });

  test('keeps only Metadata fields, sorted, strings as written, lists unindented', () => {
    const chartYaml = [
      'apiVersion: v2', 'name: demo', 'version: 1.10', 'appVersion: 1.0', 'description: A demo', 'keywords:', '  - foo', '  - bar',
      'deprecated: true', 'notAField: dropped', 'maintainers:', '  - name: Ann', '    email: ann@upstream.example',
      'dependencies:', '  - name: lib', '    version: ~1.2', '    repository: https://charts.upstream.example', '    enabled: false', '',
    ].join('\n');
    const body = provenanceBody(parseChartYaml(Buffer.from(chartYaml)), 'demo-1.10.tgz', 'ab'.repeat(32));
    assert.equal(body, [
      'apiVersion: v2', 'appVersion: "1.0"', 'dependencies:', '- enabled: false', '  name: lib', '  repository: https://charts.upstream.example',
      '  version: ~1.2', 'deprecated: true', 'description: A demo', 'keywords:', '- foo', '- bar', 'maintainers:', '- email: ann@upstream.example',
      '  name: Ann', 'name: demo', 'version: "1.10"', '', '...', 'files:', `  demo-1.10.tgz: sha256:${'ab'.repeat(32)}`,
    ].join('\n'));
    // What Helm's parseMessageBlock reads back: the metadata and the files map.
    const [meta, files] = body.split('\n...\n');
    assert.equal((parse(meta!) as { version: string }).version, '1.10');
    assert.deepEqual(parse(files!), { files: { 'demo-1.10.tgz': `sha256:${'ab'.repeat(32)}` } });
  });

  test('refuses a Chart.yaml without name or version, or that is not YAML', () => {
    assert.throws(() => parseChartYaml(Buffer.from('description: x\n')), /no name or no version/);
    assert.throws(() => parseChartYaml(Buffer.from('name: [\n')), /not valid YAML/);
    assert.throws(() => parseChartYaml(Buffer.from('name: a\nname: b\nversion: 1\n')), /not valid YAML/);
  });
});

describe('helm: chart URLs', () => {
  const base = upstreamBaseOf('https://user:secret@charts.upstream.example/stable');
  test('relative and absolute URLs under the upstream base map to the same path', () => {
    assert.equal(chartPathOf('demo-1.0.0.tgz', base), 'demo-1.0.0.tgz');
    assert.equal(chartPathOf('charts/demo-1.0.0.tgz', base), 'charts/demo-1.0.0.tgz');
    assert.equal(chartPathOf('https://charts.upstream.example/stable/charts/demo-1.0.0.tgz', base), 'charts/demo-1.0.0.tgz');
    assert.equal(chartPathOf('/stable/demo%2B1-1.0.0.tgz', base), 'demo+1-1.0.0.tgz');
  });
  test('anything the repository cannot fetch maps to nothing', () => {
    for (const url of [
      'https://elsewhere.upstream.example/stable/demo-1.0.0.tgz', '../demo-1.0.0.tgz', '/other/demo-1.0.0.tgz', 'demo-1.0.0.tgz?token=x',
      'file:///etc/passwd', 'demo-1.0.0.tar', 'a%2Fb.tgz', '%2e%2e/x.tgz', 'x/%00.tgz', 'http://charts.upstream.example:8080/stable/demo-1.0.0.tgz',
    ]) assert.equal(chartPathOf(url, base), undefined, url);
  });
});

describe('helm: index.yaml', () => {
  const base = upstreamBaseOf('http://127.0.0.1:9/repo/');
  const digest = 'cd'.repeat(32);
  const index = [
    'apiVersion: v1', 'entries:', '  demo:', '  - apiVersion: v2', '    appVersion: 1.0', '    created: "2024-01-02T03:04:05Z"',
    `    digest: ${digest}`, '    name: demo', '    urls:', '    - http://127.0.0.1:9/repo/demo-1.10.tgz', '    version: 1.10',
    '  elsewhere:', '  - name: elsewhere', `    digest: ${digest}`, '    urls:', '    - https://elsewhere.upstream.example/x-1.0.0.tgz', '    version: 1.0.0',
    'generated: "2024-01-02T03:04:05Z"', '',
  ].join('\n');

  test('lists each version with its digest and the paths its URLs map to', () => {
    const parsed = parseIndexYaml(Buffer.from(index), base);
    assert.deepEqual(parsed.charts, [
      { name: 'demo', version: '1.10', digest, paths: ['demo-1.10.tgz'] },
      { name: 'elsewhere', version: '1.0.0', digest, paths: [] },
    ]);
    assert.equal(parsed.generated, Date.parse('2024-01-02T03:04:05Z'));
  });

  const serve = (text: string): string => servedIndexYaml(
    parseIndexYaml(Buffer.from(text), base), (p) => `http://mirror.example/helm/${p}`, (name) => `http://mirror.example/helm/-/outside-upstream/${name}`,
  ).toString();

  test('the served index points at the mirror and keeps every other byte as written', () => {
    const served = serve(index);
    const expected = index
      .replace('http://127.0.0.1:9/repo/demo-1.10.tgz', 'http://mirror.example/helm/demo-1.10.tgz')
      .replace('https://elsewhere.upstream.example/x-1.0.0.tgz', 'http://mirror.example/helm/-/outside-upstream/x-1.0.0.tgz');
    assert.equal(served, expected);
  });

  test('URLs written quoted, in flow lists or with an anchor are replaced as valid YAML', () => {
    const text = [
      'entries:', '  a:', `  - {name: a, version: 1.0.0, digest: ${digest}, urls: ["a-1.0.0.tgz", 'charts/a b-1.0.0.tgz']}`,
      '  b:', '  - name: b', '    urls:', '    - &u b-1.0.0.tgz', '    version: 2.0.0', '',
    ].join('\n');
    const served = parse(serve(text)) as { entries: Record<string, { urls: string[] }[]> };
    assert.deepEqual(served.entries.a![0]!.urls, ['http://mirror.example/helm/a-1.0.0.tgz', 'http://mirror.example/helm/charts/a b-1.0.0.tgz'], 'a URL plain YAML cannot hold is quoted');
    assert.deepEqual(served.entries.b![0]!.urls, ['http://mirror.example/helm/b-1.0.0.tgz']);
  });

  test('refuses what is not an index', () => {
    for (const bad of [
      'entries: [1, 2]\n', 'entries:\n  demo: 3\n', '- a\n', 'entries:\n  demo:\n  - 1\n', 'a: 1\na: 2\n', 'entries: {\n',
      // A URL the rewrite would not see: an alias, a mapping, urls that are not a list.
      'x: &u https://elsewhere.upstream.example/x.tgz\nentries:\n  d:\n  - name: d\n    urls:\n    - *u\n',
      'entries:\n  d:\n  - urls:\n    - {a: b}\n', 'entries:\n  d:\n  - urls: d-1.0.0.tgz\n',
    ]) {
      assert.throws(() => parseIndexYaml(Buffer.from(bad), base), IndexYamlError, bad);
    }
    assert.throws(() => parseIndexYaml(Buffer.from([0xff, 0xfe]), base), /UTF-8/);
  });
});

describe('helm: Chart.yaml in a chart archive', () => {
  const chartYaml = 'apiVersion: v2\nname: demo\nversion: 0.1.0\n';
  for (const format of ['ustar', 'gnu', 'pax']) {
    test(`found in an archive tar writes in ${format} format, past a long file name`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'helm-unit-'));
      try {
        mkdirSync(join(dir, 'demo', 'templates'), { recursive: true });
        writeFileSync(join(dir, 'demo', 'templates', `${'t'.repeat(120)}.yaml`), 'kind: ConfigMap\n');
        writeFileSync(join(dir, 'demo', 'values.yaml'), 'a: 1\n');
        writeFileSync(join(dir, 'demo', 'Chart.yaml'), chartYaml);
        if (format === 'ustar') rmSync(join(dir, 'demo', 'templates'), { recursive: true });
        execFileSync('tar', ['-C', dir, `--format=${format}`, '-czf', join(dir, 'demo.tgz'), 'demo/templates', 'demo/values.yaml', 'demo/Chart.yaml'].filter((a) => format !== 'ustar' || a !== 'demo/templates'));
        assert.equal((await readChartYaml(readFileSync(join(dir, 'demo.tgz')))).toString(), chartYaml);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  test('refuses archives without a top-level Chart.yaml, corrupt gzip and bombs', async () => {
    const tar = (name: string, data: string): Buffer => {
      const header = Buffer.alloc(512);
      header.write(name, 0);
      header.write('0000644\0', 100);
      header.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124);
      header.write('0', 156);
      return Buffer.concat([header, Buffer.from(data), Buffer.alloc((512 - (data.length % 512)) % 512), Buffer.alloc(1024)]);
    };
    await assert.rejects(readChartYaml(gzipSync(tar('demo/sub/Chart.yaml', chartYaml))), ChartArchiveError);
    await assert.rejects(readChartYaml(gzipSync(tar('Chart.yaml', chartYaml))), /holds no/);
    await assert.rejects(readChartYaml(Buffer.from('not gzip at all')), /unreadable/);
    await assert.rejects(readChartYaml(gzipSync(Buffer.alloc(101 * 1024 * 1024))), /unreadable|holds no/);
  });
});
