import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isMirrorError } from '../../src/errors.js';
import { authorizationHeader, mergeCredentials } from '../../src/upstream/credentials.js';
import { backoffDelay, isIdempotent } from '../../src/upstream/retry.js';
import { joinUpstreamPath, parseBaseUrl, resolveRedirect } from '../../src/upstream/upstream-url.js';
import { addressClass } from '../../src/upstream/address-class.js';
import { OriginPolicy } from '../../src/upstream/origin-policy.js';
import { NonPublicAddressError, publicOnlyLookup, type Resolver } from '../../src/upstream/public-lookup.js';

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

describe('addressClass', () => {
  it('classifies loopback, private, link-local and reserved addresses, also embedded in IPv6', () => {
    const cases: Array<[string, string]> = [
      ['127.0.0.1', 'loopback'], ['127.255.0.9', 'loopback'], ['::1', 'loopback'], ['[::1]', 'loopback'],
      ['::ffff:127.0.0.1', 'loopback'], ['::ffff:7f00:1', 'loopback'], ['64:ff9b::a00:1', 'private'],
      ['10.1.2.3', 'private'], ['172.16.0.1', 'private'], ['172.31.255.255', 'private'], ['192.168.1.1', 'private'],
      ['100.64.0.1', 'private'], ['fd00::1', 'private'], ['169.254.169.254', 'link-local'], ['fe80::1', 'link-local'],
      ['0.0.0.0', 'reserved'], ['::', 'reserved'], ['224.0.0.1', 'reserved'], ['255.255.255.255', 'reserved'], ['not-an-ip', 'reserved'],
      // Positive controls: public addresses stay public, right next to the private ranges.
      ['93.184.216.34', 'public'], ['172.32.0.1', 'public'], ['11.0.0.1', 'public'], ['2606:4700::1111', 'public'], ['::ffff:8.8.8.8', 'public'],
    ];
    for (const [ip, kind] of cases) assert.equal(addressClass(ip), kind, ip);
  });
});

describe('publicOnlyLookup', () => {
  const resolver = (answers: Record<string, string[]>): Resolver => (host, _opts, cb) =>
    cb(null, (answers[host] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));

  it('passes public answers through in both callback shapes and refuses a name with any internal answer', async () => {
    const lookup = publicOnlyLookup(resolver({ 'cdn.upstream.example': ['93.184.216.34'], 'rebind.upstream.example': ['93.184.216.34', '127.0.0.1'] }));
    const one = await new Promise<unknown[]>((ok) => lookup('cdn.upstream.example', {}, (...args) => ok(args)));
    assert.deepEqual(one, [null, '93.184.216.34', 4]);
    const all = await new Promise<unknown[]>((ok) => lookup('cdn.upstream.example', { all: true }, (...args) => ok(args)));
    assert.deepEqual(all, [null, [{ address: '93.184.216.34', family: 4 }]]);
    const bad = await new Promise<unknown[]>((ok) => lookup('rebind.upstream.example', {}, (...args) => ok(args)));
    assert.ok(bad[0] instanceof NonPublicAddressError);
    assert.match(String((bad[0] as Error).message), /loopback address 127\.0\.0\.1/);
  });
});

describe('OriginPolicy', () => {
  const base = new URL('https://registry.upstream.example/');
  const policy = new OriginPolicy(base, { redirectOrigins: ['http://10.0.0.5:9000'], credentialOrigins: ['https://auth.upstream.example'] });

  it('keeps redirects on the origin, allowlisted origins, or digest-named objects at public addresses', () => {
    assert.deepEqual(policy.redirect(new URL('https://registry.upstream.example/x'), false), { kind: 'trusted', credentials: true });
    assert.deepEqual(policy.redirect(new URL('http://10.0.0.5:9000/b'), false), { kind: 'trusted', credentials: false });
    assert.equal(policy.redirect(new URL('https://cdn.upstream.example/b'), false).kind, 'refused');
    assert.equal(policy.redirect(new URL('https://cdn.upstream.example/b'), true).kind, 'public-only');
    assert.equal(policy.redirect(new URL('http://registry.upstream.example/x'), false).kind, 'refused', 'a downgrade is another origin');
    for (const target of ['http://127.0.0.1:8080/', 'http://[::1]/', 'http://169.254.169.254/', 'http://0x7f.1/', 'http://2130706433/', 'http://localhost:2375/']) {
      assert.equal(policy.redirect(new URL(target), true).kind, 'refused', target);
    }
  });

  it('sends credentials only to realms on the origin or listed, and answers only its own challenges', () => {
    assert.deepEqual(policy.realm(new URL('https://registry.upstream.example/token')), { kind: 'trusted', credentials: true });
    assert.deepEqual(policy.realm(new URL('https://auth.upstream.example/token')), { kind: 'trusted', credentials: true });
    assert.deepEqual(policy.realm(new URL('https://elsewhere.example/token')), { kind: 'public-only' });
    assert.equal(policy.realm(new URL('http://192.168.0.1/token')).kind, 'refused');
    assert.equal(policy.acceptsChallengeFrom(new URL('https://registry.upstream.example/v2/x')), true);
    assert.equal(policy.acceptsChallengeFrom(new URL('https://cdn.upstream.example/v2/x')), false);
  });

  it('rejects allowlist entries that are not origins', () => {
    for (const bad of ['cdn.upstream.example', 'https://cdn.upstream.example/path', 'ftp://x', 'https://u:p@cdn.upstream.example']) {
      assert.throws(() => new OriginPolicy(base, { redirectOrigins: [bad] }), (err: unknown) => isMirrorError(err) && err.code === 'CONFIG_INVALID', bad);
    }
  });
});
