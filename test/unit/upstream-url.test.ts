import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isMirrorError } from '../../src/errors.js';
import { authorizationHeader, mergeCredentials } from '../../src/upstream/credentials.js';
import { backoffDelay, isIdempotent } from '../../src/upstream/retry.js';
import { joinUpstreamPath, parseBaseUrl, resolveRedirect } from '../../src/upstream/upstream-url.js';

describe('parseBaseUrl', () => {
  it('splits off credentials, query and fragment and ends the path with a slash', () => {
    const b = parseBaseUrl('https://al%40ice:p%3Ass@registry.example/npm?x=1#f');
    assert.equal(b.url.toString(), 'https://registry.example/npm/');
    assert.equal(b.username, 'al@ice');
    assert.equal(b.password, 'p:ss');
  });

  it('rejects non-HTTP schemes and garbage without echoing credentials', () => {
    for (const bad of ['ftp://u:secret@x/', 'not a url']) {
      assert.throws(() => parseBaseUrl(bad), (err: unknown) => isMirrorError(err) && err.code === 'CONFIG_INVALID' && !err.message.includes('secret'));
    }
  });
});

describe('joinUpstreamPath', () => {
  const base = parseBaseUrl('http://up.example/a/b').url;

  it('joins under the base path, with or without a leading slash, keeping the query', () => {
    assert.equal(joinUpstreamPath(base, 'c/d.tgz').toString(), 'http://up.example/a/b/c/d.tgz');
    assert.equal(joinUpstreamPath(base, '/c/d.tgz').toString(), 'http://up.example/a/b/c/d.tgz');
    assert.equal(joinUpstreamPath(base, '@scope%2fname').toString(), 'http://up.example/a/b/@scope%2fname');
    assert.equal(joinUpstreamPath(base, 'v2/x?n=1').toString(), 'http://up.example/a/b/v2/x?n=1');
    // A protocol-relative path must not switch host: it stays a path under the base.
    assert.equal(joinUpstreamPath(base, '//other.example/x').toString(), 'http://up.example/a/b/other.example/x');
  });

  it('refuses paths that climb out of the base path or change the host', () => {
    for (const path of ['..', '../c', 'c/../../x', '%2e%2e/x', '.%2E/x', 'c\\..\\..\\x', 'x#frag']) {
      assert.throws(() => joinUpstreamPath(base, path), (err: unknown) => isMirrorError(err) && err.code === 'BAD_PATH', path);
    }
  });
});

describe('resolveRedirect', () => {
  const from = new URL('https://up.example/a/b/c');
  it('resolves relative and absolute locations', () => {
    assert.equal(resolveRedirect(from, 'd')?.toString(), 'https://up.example/a/b/d');
    assert.equal(resolveRedirect(from, '/x#y')?.toString(), 'https://up.example/x');
    assert.equal(resolveRedirect(from, 'https://cdn.example/f')?.toString(), 'https://cdn.example/f');
  });
  it('refuses other schemes and userinfo', () => {
    assert.equal(resolveRedirect(from, 'file:///etc/passwd'), undefined);
    assert.equal(resolveRedirect(from, 'https://u:p@cdn.example/'), undefined);
  });
});

describe('credentials', () => {
  it('prefers a token, else Basic; explicit fields override the URL', () => {
    assert.equal(authorizationHeader({ token: 't', username: 'u' }), 'Bearer t');
    assert.equal(authorizationHeader({ username: 'u', password: 'p' }), `Basic ${Buffer.from('u:p').toString('base64')}`);
    assert.equal(authorizationHeader({}), undefined);
    assert.deepEqual(mergeCredentials({ username: 'a', password: 'b' }, { password: 'c', username: undefined }), { username: 'a', password: 'c' });
  });
});

describe('backoff', () => {
  it('grows exponentially within jitter bounds and is capped', () => {
    const opts = { baseMs: 100, capMs: 1000 };
    assert.equal(backoffDelay(0, opts, () => 0), 50);
    assert.equal(backoffDelay(0, opts, () => 1), 100);
    assert.equal(backoffDelay(2, opts, () => 1), 400);
    assert.equal(backoffDelay(10, opts, () => 1), 1000);
    assert.ok(isIdempotent('GET') && isIdempotent('HEAD') && !isIdempotent('POST'));
  });
});
