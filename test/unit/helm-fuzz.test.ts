/**
 * Fuzzes the Helm parsers of attacker-controlled bytes: index.yaml, Chart.yaml, chart archives
 * and upstream provenance files. Each returns or refuses with its own typed error (never a
 * TypeError or RangeError), and a served index always parses back with every URL it can serve
 * pointing at the mirror.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import * as openpgp from 'openpgp';
import { parse } from 'yaml';
import { ChartArchiveError, readChartYaml } from '../../src/formats/helm/chart-archive.js';
import { ChartMetadataError, parseChartYaml } from '../../src/formats/helm/chart-metadata.js';
import { upstreamBaseUrl as upstreamBaseOf } from '../../src/formats/upstream-base.js';
import { IndexYamlError, parseIndexYaml, servedIndexYaml } from '../../src/formats/helm/index-yaml.js';
import { checkProvenance } from '../../src/formats/helm/provenance.js';
import { fuzz, fuzzAsync, mutated, typed, typedAsync } from '../helpers/fault-fuzz.js';

const base = upstreamBaseOf('http://127.0.0.1:9/repo');
const INDEX_LINES = [
  'apiVersion: v1', 'entries:', '  demo:', '  - name: demo', '    version: 1.0.0', `    digest: ${'ab'.repeat(32)}`, '    urls:',
  '    - demo-1.0.0.tgz', '    - http://127.0.0.1:9/repo/x/demo-1.0.0.tgz', '    - https://elsewhere.upstream.example/d.tgz', '    - "q u.tgz"',
  '  other: []', '  - {name: o, urls: [o-1.tgz, "p, q.tgz"]}', 'generated: "2026-01-01T00:00:00Z"', '  - &a x.tgz', '    - *a', '    urls: x', '',
];
const URLS = [
  'demo-1.0.0.tgz', 'charts/a b.tgz', '"q, u.tgz"', "'s q.tgz'", 'http://127.0.0.1:9/repo/x/demo-1.0.0.tgz', 'https://elsewhere.upstream.example/d.tgz',
  '../up.tgz', 'd.tgz?x=1', '"a: b.tgz"', '"#h.tgz"', 'é-1.tgz', '"\\u0000.tgz"', '!!str t.tgz', '&anc a.tgz',
];
/** Indexes with the shapes real ones have, in block and flow style, with every kind of URL. */
const structuredIndex = fc.array(
  fc.record({ name: fc.constantFrom('demo', 'a-b', '"q"', 'x1'), flow: fc.boolean(), urls: fc.array(fc.constantFrom(...URLS), { maxLength: 3 }) }),
  { maxLength: 6 },
).map((entries) => ['apiVersion: v1', 'entries:', ...entries.map((e, i) => (e.flow
  ? `  ${e.name}${i}: [{name: n, version: ${i}.0, urls: [${e.urls.join(', ')}]}]`
  : `  ${e.name}${i}:\n  - name: n\n    version: ${i}.0\n    urls:\n${e.urls.map((u) => `    - ${u}`).join('\n')}`)), 'generated: "2026-01-01T00:00:00Z"', ''].join('\n'));
const indexText = fc.oneof(
  structuredIndex,
  structuredIndex.chain((t) => mutated(Buffer.from(t)).map((b) => b.toString('latin1'))),
  fc.array(fc.oneof(fc.constantFrom(...INDEX_LINES), fc.string({ maxLength: 30 })), { maxLength: 40 }).map((l) => l.join('\n')),
);

test('index.yaml: parsed or refused with IndexYamlError; the served index parses with mirror URLs only', () => {
  fuzz(indexText, (text, s) => {
    const parsed = typed(s, [IndexYamlError], () => parseIndexYaml(Buffer.from(text), base));
    if (!parsed) return;
    const served = servedIndexYaml(parsed, (p) => `http://mirror.example/r/${encodeURI(p)}`, (n) => `http://mirror.example/r/-/outside-upstream/${n}`).toString();
    const again = parseIndexYaml(Buffer.from(served), upstreamBaseOf('http://mirror.example/r'));
    assert.equal(again.charts.length, parsed.charts.length);
    assert.equal(again.urls.length, parsed.urls.length);
    const doc = parse(served) as { entries?: Record<string, { urls?: string[] }[]> };
    const urls = Object.values(doc.entries ?? {}).flatMap((versions) => (versions ?? []).flatMap((v) => v.urls ?? []));
    assert.equal(urls.length, parsed.urls.length);
    for (const u of urls) assert.ok(u.startsWith('http://mirror.example/r/'), `${u} is not on the mirror`);
  });
});

test('Chart.yaml: parsed or refused with ChartMetadataError', () => {
  const lines = ['name: demo', 'version: 1.0', 'apiVersion: v2', 'maintainers:', '  - name: a', 'dependencies:', '  - name: d', '    enabled: true', 'deprecated: true', 'annotations: {a: b}', '&x', '*x', '__proto__: 1'];
  fuzz(fc.array(fc.oneof(fc.constantFrom(...lines), fc.string({ maxLength: 30 })), { maxLength: 20 }).map((l) => l.join('\n')), (text, s) => {
    const m = typed(s, [ChartMetadataError], () => parseChartYaml(Buffer.from(text)));
    if (m) assert.ok(m.name && m.version);
  });
});

test('chart archives: Chart.yaml found or refused with ChartArchiveError', async () => {
  const header = Buffer.alloc(512);
  header.write('demo/Chart.yaml', 0);
  header.write('0000644\0', 100);
  header.write('00000000030\0', 124);
  header.write('0', 156);
  const valid = gzipSync(Buffer.concat([header, Buffer.from('name: demo\nversion: 1.0.0\n\0\0\0\0'), Buffer.alloc(512 - 24), Buffer.alloc(1024)]));
  assert.equal((await readChartYaml(valid)).length, 24);
  await fuzzAsync(fc.oneof(mutated(valid), mutated(Buffer.concat([header, Buffer.alloc(1024)])).map((b) => gzipSync(b))), async (bytes, s) => {
    await typedAsync(s, [ChartArchiveError], () => readChartYaml(bytes));
  });
});

test('provenance: any bytes are refused with a reason, never thrown', async () => {
  const { privateKey, publicKey } = await openpgp.generateKey({ type: 'curve25519', userIDs: [{ name: 'Fuzz' }], format: 'object' });
  const keyring = { keys: [publicKey], fingerprints: [publicKey.getFingerprint().toUpperCase()] };
  const text = `apiVersion: v2\nname: demo\nversion: 1.0.0\n\n...\nfiles:\n  demo-1.0.0.tgz: sha256:${'ab'.repeat(32)}`;
  const signed = await openpgp.sign({ message: await openpgp.createCleartextMessage({ text }), signingKeys: privateKey });
  const expected = { fileName: 'demo-1.0.0.tgz', sha256: 'ab'.repeat(32), chartName: 'demo' };
  assert.deepEqual(await checkProvenance(keyring, Buffer.from(signed), expected), { ok: true, fingerprint: keyring.fingerprints[0] });
  await fuzzAsync(mutated(Buffer.from(signed)), async (bytes, s) => {
    const r = await typedAsync(s, [], () => checkProvenance(keyring, bytes, expected));
    if (r?.ok) assert.ok(bytes.toString('utf8').includes(`demo-1.0.0.tgz: sha256:${'ab'.repeat(32)}`));
  }, { runs: 150 });
});

test('index.yaml: a control character or a tagged URL (a served URL ran into its tag) is refused with IndexYamlError', () => {
  // Found by the fuzzer above (seed -441287040): the parser's ranges and the text disagreed.
  const text = 'apiVersion: v1\nentries:\n  a-b1: [{name: n, version: 1.0, urls: [!!s\u0000r t.tgz, &anc a.tgz]}]\n';
  assert.throws(() => parseIndexYaml(Buffer.from(text), base), (err: unknown) => err instanceof IndexYamlError && /U\+0000/.test(err.message));
  // A tagged URL, or an empty one at the end of the text, is refused too: the rewrite by range would run into the tag.
  assert.throws(() => parseIndexYaml(Buffer.from(text.replace('\u0000', 't')), base), (err: unknown) => err instanceof IndexYamlError && /tagged or empty/.test(err.message));
  assert.throws(() => parseIndexYaml(Buffer.from('apiVersion: v1\nentries:\n  x:\n  - name: n\n    urls:\n    - !!s'), base), IndexYamlError);
  // Control: tab, LF and CR are allowed, and the same index with plain URLs parses.
  assert.equal(parseIndexYaml(Buffer.from(text.replace('!!s\u0000r t.tgz', 't.tgz').replace('\n', '\r\n')), base).urls.length, 2);
});
