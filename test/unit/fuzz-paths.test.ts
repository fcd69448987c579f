/**
 * Fuzzes the request-path chain (issue 10, "Faults"): the server's safe-path check, then
 * every format's classify() (the path mappers), the OCI path grammar and its store paths.
 * Request paths are attacker-controlled; the property is "no escape": what is refused is
 * refused with BAD_PATH, and every store key or upstream path a mapper makes stays inside
 * the repository (relative, no "." or ".." segment even after decoding, no NUL, no backslash)
 * and joins under the upstream's base path.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { MirrorError } from '../../src/errors.js';
import { FORMATS } from '../../src/formats/index.js';
import { parseOciPath, parseSignatureStorePath, signatureStorePath, tagStorePath } from '../../src/formats/oci/oci-path.js';
import type { Classified, FormatRepository, ObjectRef } from '../../src/formats/types.js';
import { distributionPath } from '../../src/server/distribution-route.js';
import { parseSafePath } from '../../src/server/safe-path.js';
import { joinUpstreamPath, parseBaseUrl } from '../../src/upstream/upstream-url.js';
import { fuzz, storeKeyProblem, typed } from '../helpers/fault-fuzz.js';

const BASE = parseBaseUrl('http://upstream.example/mirror/base/');

// Pieces that traversal and smuggling are made of, mixed with ordinary path text.
const TOKENS = ['/', '.', '..', '%2e', '%2E', '%2f', '%2F', '%5c', '%00', '%', '%25', '\\', '@', '%40', ':', '?', '#', ';', 'sha256:', 'a'.repeat(64), 'v2', 'manifests', 'blobs', 'tags', 'list', 'latest', '-', '_', 'dists', 'Release', 'InRelease', 'by-hash', 'repodata', 'repomd.xml', 'APKINDEX.tar.gz', 'x.apk', 'p.rpm', '.tgz', '%c0%ae', '\u0000', '\u00e9', '~', ';accept=', 'upstream-signature', '..%2f', '.%2e'];
const token = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...TOKENS) }, { weight: 1, arbitrary: fc.string({ maxLength: 6 }) });
const hostileUrl = fc.array(token, { maxLength: 14 }).map((t) => `/${t.join('')}`);
const segmentUrl = fc.array(fc.array(token, { minLength: 1, maxLength: 3 }).map((t) => t.join('')), { minLength: 1, maxLength: 8 }).map((s) => `/${s.join('/')}`);
// Distribution API shapes, so the OCI grammar is reached and not only refused.
const nameComponent = fc.oneof({ weight: 3, arbitrary: fc.stringMatching(/^[a-z0-9]{1,8}(?:(?:[._]|__|-+)[a-z0-9]{1,6})?$/) }, { weight: 1, arbitrary: fc.stringMatching(/^[a-z0-9._-]{1,12}$/) });
const reference = fc.oneof(fc.stringMatching(/^[A-Za-z0-9._:-]{1,20}$/), fc.constant(`sha256:${'b'.repeat(64)}`), token);
const ociUrl = fc
  .tuple(fc.array(fc.oneof({ weight: 4, arbitrary: nameComponent }, { weight: 1, arbitrary: token }), { minLength: 1, maxLength: 4 }), fc.constantFrom('manifests', 'blobs', 'tags', 'referrers'), reference, fc.constantFrom('', '?n=2', '?last=x', '?n=-1'))
  .map(([name, verb, ref, q]) => `/${name.join('/')}/${verb}/${verb === 'tags' ? 'list' : ref}${q}`);
const anyUrl = fc.oneof(hostileUrl, segmentUrl, ociUrl);

test('safe path: every URL is refused with BAD_PATH or yields segments with no way out', () => {
  const stats = fuzz(fc.tuple(anyUrl, fc.boolean()), ([url, scoped], s) => {
    const safe = typed(s, [MirrorError], () => parseSafePath(url, { scopedEncodedSlash: scoped }));
    if (!safe) return;
    safe.segments.forEach((seg, i) => {
      assert.ok(seg !== '.' && seg !== '..', `segment ${JSON.stringify(seg)}`);
      assert.doesNotMatch(seg, /[/\\\u0000-\u001f\u007f]/, `segment ${JSON.stringify(seg)} of ${url}`);
      if (seg === '') assert.equal(i, safe.segments.length - 1, 'only a trailing slash leaves an empty segment');
    });
  });
  console.log(`fuzz safe path: ${stats.calls} calls, ${stats.refused} refused`);
  assert.throws(() => parseSafePath('/a/%2e%2e/b'), (e: unknown) => e instanceof MirrorError && e.code === 'BAD_PATH');
  assert.deepEqual(parseSafePath('/npm/@s%2fn', { scopedEncodedSlash: true }).segments, ['npm', '@s', 'n'], 'positive control');
});

async function openAll(): Promise<Map<string, FormatRepository>> {
  const repos = new Map<string, FormatRepository>();
  const noKeys = new Proxy({}, { get: () => () => { throw new Error('the fuzz repository holds no keys'); } });
  for (const [name, format] of FORMATS) {
    repos.set(
      name,
      await format.open({
        repository: name,
        trust: format.trustSchema.parse({}),
        verify: 'off',
        configDir: '/nonexistent',
        repositoryUrl: `http://127.0.0.1:1/${name}`,
        upstream: BASE.url.toString(),
        anchor: 'pinned',
        keys: noKeys as never,
        readTrustFile: () => Promise.reject(new Error('no trust files')),
        listTrustDir: () => Promise.resolve([]),
        now: () => 0,
      }),
    );
  }
  return repos;
}

/** Every ObjectRef a classification names (the store keys the core will read and write). */
function refs(c: Classified): ObjectRef[] {
  switch (c.kind) {
    case 'object':
      return [c, ...(c.requires ?? []).flatMap((r) => [r])];
    case 'view':
      return [c.of, ...(c.of.requires ?? [])];
    case 'indexed':
      return [c.index];
    case 'content':
      return refs(c.otherwise);
    case 'signature':
    case 'generated':
    case 'pass-through':
    case 'not-found':
      return [];
  }
}

function checkRef(ref: ObjectRef, url: string): void {
  const where = `${JSON.stringify(ref.path)} from ${JSON.stringify(url)}`;
  const keyProblem = storeKeyProblem(ref.path);
  assert.equal(keyProblem, undefined, `store key ${where} ${keyProblem}`);
  for (const up of [ref.upstreamPath, ...(ref.upstreamFallbacks ?? [])]) {
    if (up === undefined) continue;
    const upProblem = storeKeyProblem(up.replace(/^\/+/, ''), { encoded: true });
    assert.equal(upProblem, undefined, `upstream path ${JSON.stringify(up)} for ${where} ${upProblem}`);
    const joined = typed({ calls: 0, refused: 0, maxMs: 0 }, [MirrorError], () => joinUpstreamPath(BASE.url, up));
    if (joined) assert.ok(joined.origin === BASE.url.origin && joined.pathname.startsWith(BASE.url.pathname), `${up} leaves the base`);
  }
}

test('path mappers: no format maps a request to a store key or upstream path outside its repository', async () => {
  const repos = await openAll();
  const stats = fuzz(fc.tuple(anyUrl, fc.constantFrom(...repos.keys())), ([url, name], s) => {
    const repo = repos.get(name)!;
    const safe = typed(s, [MirrorError], () => parseSafePath(url, FORMATS.get(name)!.pathPolicy));
    if (!safe) return;
    const path = name === 'oci' ? typed(s, [MirrorError], () => distributionPath(safe)) : safe.segments.join('/');
    if (path === undefined) return;
    const c = typed(s, [MirrorError], () => repo.classify(path, {}));
    if (!c) return;
    if (c.kind === 'not-found') s.refused++;
    for (const ref of refs(c)) checkRef(ref, url);
  }, { runs: 3000, budgetMs: 10_000 });
  console.log(`fuzz path mappers: ${stats.calls} calls, ${stats.refused} refused or not found`);
  // Positive control: ordinary paths of each format map to objects.
  const mapped = (name: string, path: string): string => repos.get(name)!.classify(path, {}).kind;
  assert.notEqual(mapped('raw', 'dir/file.bin'), 'not-found');
  assert.notEqual(mapped('oci', 'library/alpine/manifests/latest'), 'not-found');
  assert.notEqual(mapped('alpine', 'v3.20/main/x86_64/APKINDEX.tar.gz'), 'not-found');
  assert.notEqual(mapped('npm', 'left-pad'), 'not-found');
});

test('OCI paths: parsed names and tags follow the grammar; store paths round-trip and stay inside', () => {
  const stats = fuzz(anyUrl, (url, s) => {
    const r = typed(s, [], () => parseOciPath(url.slice(1)));
    assert.ok(r);
    if (!r.ok) return void s.refused++;
    const p = r.path;
    assert.ok(p.name.split('/').every((c) => /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/.test(c)), p.name);
    if ('tag' in p) {
      assert.match(p.tag, /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/);
      const key = tagStorePath(p.name, p.tag, ['a/b'], ['a/b', 'c/d']);
      assert.equal(storeKeyProblem(key), undefined, key);
    }
    if ('digest' in p) {
      const key = signatureStorePath(p.name, p.digest);
      assert.equal(storeKeyProblem(key), undefined, key);
      assert.deepEqual(parseSignatureStorePath(key), { name: p.name, sha256: p.digest });
      assert.equal(parseOciPath(key).ok, false, 'a signature store path is never a client path');
    }
  });
  console.log(`fuzz oci path: ${stats.calls} calls, ${stats.refused} refused`);
  assert.equal(parseOciPath('library/alpine/manifests/latest').ok, true, 'positive control');
});
