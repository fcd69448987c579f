/**
 * Helm through the mirror, STYLE.md's scenario matrix: a fixture chart repository (archives made
 * with tar as `helm package` lays them out, `.prov` clearsigned by the author's key with gpg) in
 * front of the real mirror, and every served `.prov` checked as Helm checks it, with gpg and a
 * binary keyring made from the org key the mirror publishes. (No Helm client exists on this
 * machine: Debian bookworm and trixie do not package it.)
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { startFixtureUpstream, type FixtureUpstream } from '../helpers/fixture-upstream.js';
import { helmRepo, packageChart, type FixtureChart, type HelmRepoFixture } from '../helpers/helm-fixture.js';
import { makeChartAuthorKey, verifyLikeHelm, type ChartAuthorKey } from '../helpers/helm-gpg.js';
import { makeDataDir, removeDir, startMirror, type RunningMirror } from '../helpers/mirror-harness.js';

const TTL_MS = 60_000;

interface IndexDoc {
  entries: Record<string, { version: string; digest: string; urls: string[] }[]>;
}

describe('helm: scenario matrix', () => {
  let upstream: FixtureUpstream;
  let author: ChartAuthorKey;
  let repo: HelmRepoFixture;
  let mirror: RunningMirror;
  let dataDir: string;
  const charts: Record<string, FixtureChart> = {};

  before(async () => {
    [upstream, author] = await Promise.all([startFixtureUpstream(), makeChartAuthorKey('Chart Author')]);
    repo = helmRepo(upstream, '/charts');
    for (const [key, name, version] of [['demo', 'demo', '0.1.0'], ['sub', 'demo', '0.2.0'], ['abs', 'other', '1.0.0'], ['fresh', 'fresh', '1.0.0'], ['busy', 'busy', '3.0.0'], ['foreign', 'foreign', '1.0.0']] as const) {
      charts[key] = await packageChart(name, version);
    }
    await repo.publish(charts.demo!, { signer: author });
    await repo.publish(charts.sub!, { signer: author, url: 'subdir' });
    await repo.publish(charts.abs!, { signer: author, url: 'absolute' });
    await repo.publish(charts.busy!, { signer: author });
    await repo.publish(charts.foreign!, { signer: author, url: 'foreign' });
    repo.writeIndex();
    dataDir = await makeDataDir();
    await writeFile(join(dataDir, 'authors.asc'), author.armoredPublic);
    mirror = await startMirror({
      dataDir,
      repositories: [{ name: 'helm', format: 'helm', upstream: repo.url, verify: 'require', trust: { keyring: 'authors.asc' }, metadataTtl: `${TTL_MS}ms`, retries: 0 }],
    });
  });

  after(async () => {
    await mirror?.close();
    await upstream?.stop();
    await author?.close();
    if (dataDir) await removeDir(dataDir);
  });

  const orgKeys = async (): Promise<string> => (await mirror.get('/-/keys/openpgp.asc')).text();
  const index = async (): Promise<{ res: Response; doc: IndexDoc; text: string }> => {
    const res = await mirror.get('/helm/index.yaml');
    const text = await res.text();
    return { res, doc: parse(text) as IndexDoc, text };
  };
  /** The chart and its .prov as a Helm client fetches them: through the URL the served index gives. */
  const fetchChart = async (url: string): Promise<{ bytes: Buffer; prov: string; res: Response }> => {
    const res = await fetch(url);
    const bytes = Buffer.from(await res.arrayBuffer());
    const provRes = await fetch(`${url}.prov`);
    if (provRes.status === 200) assert.equal(provRes.headers.get('content-type'), 'application/pgp-signature');
    const prov = await provRes.text();
    return { res, bytes, prov };
  };

  test('cold miss: index URLs point at the mirror with digests unchanged; charts byte-identical; each .prov verifies as Helm verifies it', async () => {
    const { res, doc, text } = await index();
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/x-yaml');
    assert.ok(!text.includes(upstream.url), 'no upstream URL is left in the served index');
    const keys = await orgKeys();
    for (const c of [charts.demo!, charts.sub!, charts.abs!]) {
      const entry = doc.entries[c.name]!.find((e) => e.version === c.version)!;
      assert.equal(entry.digest, c.sha256);
      assert.equal(entry.urls.length, 1);
      assert.ok(entry.urls[0]!.startsWith(`${mirror.url}/helm/`), entry.urls[0]);
      assert.ok(entry.urls[0]!.endsWith(`/${c.fileName}`), 'the file name Helm matches the .prov by is unchanged');
      const got = await fetchChart(entry.urls[0]!);
      assert.equal(got.res.status, 200);
      assert.equal(got.res.headers.get('content-type'), 'application/gzip');
      assert.match(got.res.headers.get('x-countersign-verification') ?? '', /^verified; by=openpgp:[0-9A-F]{40}.*anchor=pinned/);
      assert.ok(got.bytes.equals(c.bytes));
      const check = await verifyLikeHelm(keys, got.prov, got.bytes, c.fileName);
      assert.ok(check.ok, check.ok ? '' : check.reason);
      // The body is the one `helm package --sign` makes: the chart's metadata, "...", the files map.
      assert.equal(check.text, `${c.chartYaml}\n...\nfiles:\n  ${c.fileName}: sha256:${c.sha256}\n`);
      // Negative control of the checker: the served .prov is the org's, not the author's.
      assert.equal((await verifyLikeHelm(author.armoredPublic, got.prov, got.bytes, c.fileName)).ok, false);
      assert.equal((await verifyLikeHelm(keys, got.prov, Buffer.concat([got.bytes, Buffer.from([0])]), c.fileName)).ok, false);
    }
  });

  test('a chart the index puts on another host is not fetched around the mirror: its URL answers 404 with the reason', async () => {
    const { doc } = await index();
    const url = doc.entries.foreign![0]!.urls[0]!;
    assert.equal(url, `${mirror.url}/helm/-/outside-upstream/${charts.foreign!.fileName}`);
    const res = await fetch(url);
    assert.equal(res.status, 404);
    assert.match(((await res.json()) as { error: string }).error, /outside this repository's upstream/);
  });

  test('warm hit: index within its TTL and cached charts are served without an upstream request', async () => {
    const url = `${mirror.url}/helm/${charts.demo!.fileName}`;
    await fetchChart(url);
    upstream.resetCounts();
    await index();
    const again = await fetchChart(url);
    assert.ok(again.bytes.equals(charts.demo!.bytes));
    assert.equal(upstream.requests(), 0);
  });

  test('revalidation: after the TTL an unchanged index is revalidated, a changed one served with its new charts', async () => {
    upstream.resetCounts();
    mirror.advanceClock(TTL_MS + 1);
    const same = await index();
    assert.equal(same.res.status, 200);
    assert.equal(upstream.requests('/charts/index.yaml'), 1);
    assert.equal(same.doc.entries.fresh, undefined);

    await repo.publish(charts.fresh!, { signer: author });
    repo.writeIndex();
    mirror.advanceClock(TTL_MS + 1);
    const changed = await index();
    const entry = changed.doc.entries.fresh![0]!;
    const got = await fetchChart(entry.urls[0]!);
    assert.ok((await verifyLikeHelm(await orgKeys(), got.prov, got.bytes, charts.fresh!.fileName)).ok);
  });

  test('upstream down: the index is served stale and cached charts as they are', async () => {
    upstream.setMode('/charts/index.yaml', { status: 503 });
    upstream.setMode(`/charts/${charts.demo!.fileName}`, { status: 503 });
    try {
      mirror.advanceClock(TTL_MS + 1);
      const stale = await index();
      assert.equal(stale.res.status, 200);
      assert.ok(stale.res.headers.get('x-countersign-stale'), 'marked stale');
      assert.ok(stale.doc.entries.demo);
      const got = await fetchChart(`${mirror.url}/helm/${charts.demo!.fileName}`);
      assert.equal(got.res.status, 200);
      assert.ok(got.bytes.equals(charts.demo!.bytes));
    } finally {
      upstream.clearModes();
    }
  });

  test('tampered chart: refused against the index digest, nothing stored; the genuine bytes are fetched afresh', async () => {
    const tampered = await packageChart('tamper', '1.0.0');
    await repo.publish(tampered, { signer: author });
    repo.writeIndex();
    mirror.advanceClock(TTL_MS + 1);
    await index();
    upstream.setMode(`/charts/${tampered.fileName}`, 'tamper');
    const refused = await mirror.get(`/helm/${tampered.fileName}`);
    assert.equal(refused.status, 502);
    assert.equal(((await refused.json()) as { code: string }).code, 'DIGEST_MISMATCH');
    assert.equal((await mirror.get(`/helm/${tampered.fileName}.prov`)).status, 502);
    upstream.clearModes();
    const before = upstream.requests(`/charts/${tampered.fileName}`);
    const ok = await fetchChart(`${mirror.url}/helm/${tampered.fileName}`);
    assert.equal(ok.res.status, 200);
    assert.ok(ok.bytes.equals(tampered.bytes));
    assert.equal(upstream.requests(`/charts/${tampered.fileName}`), before + 1, 'nothing of the tampered download was kept');
  });

  test('bad index: one that does not parse is refused and the previous one is still served', async () => {
    const previous = (await index()).text;
    upstream.setFile('/charts/index.yaml', 'apiVersion: v1\nentries: {demo: [\n');
    try {
      mirror.advanceClock(TTL_MS + 1);
      const res = await index();
      assert.equal(res.res.status, 200);
      assert.equal(res.text, previous);
      assert.ok(res.res.headers.get('x-countersign-stale'));
    } finally {
      repo.writeIndex();
    }
  });

  test('rollback: an index older than the served one (by its generated time) is refused and the served one kept', async () => {
    const previous = (await index()).text;
    repo.writeIndex({ generated: '2020-01-01T00:00:00Z' });
    try {
      mirror.advanceClock(TTL_MS + 1);
      const res = await index();
      assert.equal(res.res.status, 200);
      assert.equal(res.text, previous);
      assert.ok(res.res.headers.get('x-countersign-stale'));
    } finally {
      repo.writeIndex();
    }
  });

  test('concurrent identical requests for a cold chart make one upstream fetch', async () => {
    upstream.resetCounts();
    const path = `/helm/${charts.busy!.fileName}`;
    const all = await Promise.all(Array.from({ length: 8 }, () => mirror.get(path).then(async (r) => ({ status: r.status, bytes: Buffer.from(await r.arrayBuffer()) }))));
    for (const r of all) {
      assert.equal(r.status, 200);
      assert.ok(r.bytes.equals(charts.busy!.bytes));
    }
    assert.equal(upstream.requests(`/charts/${charts.busy!.fileName}`), 1);
  });

  test('key rotation: .prov files are signed by the new key, and old and new ones verify with the published keys', async () => {
    const url = `${mirror.url}/helm/${charts.demo!.fileName}`;
    const old = await fetchChart(url);
    await mirror.app.keys.rotate('openpgp');
    const rotated = await fetchChart(url);
    assert.notEqual(rotated.prov, old.prov);
    const keys = await orgKeys();
    const oldCheck = await verifyLikeHelm(keys, old.prov, old.bytes, charts.demo!.fileName);
    const newCheck = await verifyLikeHelm(keys, rotated.prov, rotated.bytes, charts.demo!.fileName);
    assert.ok(oldCheck.ok && newCheck.ok);
    assert.notEqual(oldCheck.signer, newCheck.signer);
  });

  test('client setup names helm repo add and helm install --verify with a binary keyring from the org key', async () => {
    const res = await mirror.get('/helm/-/setup');
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.ok(text.includes(`helm repo add helm ${mirror.url}/helm`));
    assert.match(text, /curl -fsSL \S+\/-\/keys\/openpgp\.asc \| gpg --dearmor > countersign-keyring\.gpg/);
    assert.match(text, /helm install --verify --keyring countersign-keyring\.gpg/);
  });
});
