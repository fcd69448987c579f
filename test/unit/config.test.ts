import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfigFile, parseConfig } from '../../src/config/load-config.js';
import { FORMATS } from '../../src/formats/index.js';

const parse = (text: string, env: NodeJS.ProcessEnv = {}) => parseConfig(text, { file: 'test.yaml', formats: FORMATS, env, cwd: '/srv' });

test('defaults, env substitution and freezing', () => {
  const cfg = parse(
    `
listen:
  port: \${PORT:-9090}
repositories:
  - name: files
    format: raw
    upstream: \${UP}
    trust: { checksums: sha256 }
    metadataTtl: 90s
`,
    { UP: 'http://upstream.example/base' },
  );
  assert.equal(cfg.listen.port, 9090);
  assert.equal(cfg.listen.host, '127.0.0.1');
  assert.equal(cfg.publicUrl, 'http://127.0.0.1:9090');
  assert.equal(cfg.dataDir, '/srv/data');
  assert.equal(cfg.repositories[0]!.upstream, 'http://upstream.example/base');
  assert.equal(cfg.repositories[0]!.metadataTtlMs, 90_000);
  assert.equal(cfg.repositories[0]!.verify, 'require');
  assert.ok(Object.isFrozen(cfg) && Object.isFrozen(cfg.repositories[0]));
});

test('every problem is reported at once, with its path', () => {
  assert.throws(
    () =>
      parse(`
listen: { port: 99999, colour: blue }
offline: maybe
repositories:
  - name: Bad Name
    format: nosuch
    upstream: x
  - name: ok
    format: raw
    upstream: ftp://upstream.example
    verify: sometimes
    trust: { keyrings: oops }
    metadataTtl: soon
`),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      const paths = err.problems.map((p) => p.path);
      for (const p of ['listen.port', 'listen', 'offline', 'repositories[0].name', 'repositories[1].verify', 'repositories[1].metadataTtl']) {
        assert.ok(paths.includes(p), `expected a problem at ${p}; got ${paths.join(', ')}`);
      }
      assert.match(err.message, /unknown key "colour"/);
      return true;
    },
  );
});

test('format-specific trust is validated by the format (second pass)', () => {
  assert.throws(
    () => parse(`repositories: [{ name: a, format: nosuch, upstream: auto }, { name: b, format: raw, upstream: ftp://x, trust: { keyrings: k } }]`),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      const text = err.problems.map((p) => `${p.path}: ${p.message}`).join('\n');
      assert.match(text, /repositories\[0\]\.format: unknown format "nosuch"/);
      assert.match(text, /repositories\[1\]\.upstream: "ftp:\/\/x" is not an http\(s\) URL/);
      assert.match(text, /repositories\[1\]\.trust: unknown key "keyrings"/);
      return true;
    },
  );
});

test('a variable without default that is unset is an error naming the field', () => {
  assert.throws(() => parse('dataDir: ${NOPE}'), /dataDir: environment variable NOPE is not set/);
});

test('duplicate repository names are refused', () => {
  assert.throws(() => parse('repositories: [{name: a, format: raw, upstream: auto}, {name: a, format: raw, upstream: auto}]'), /"a" is used by another repository/);
});

test('YAML syntax errors name the line', () => {
  assert.throws(() => parse('listen:\n  port: [1, 2\n'), (err: unknown) => err instanceof ConfigError && /line/.test(err.problems[0]!.path));
});

test('every file in config/ is valid', async () => {
  const dirs = ['config', join('config', 'examples')];
  let n = 0;
  for (const dir of dirs) {
    for (const name of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
      await loadConfigFile(join(dir, name), FORMATS, {});
      n++;
    }
  }
  assert.ok(n >= 2, `checked ${n} files`);
});
