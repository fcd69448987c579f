/** The `countersign` command as an operator runs it. */
import { readdirSync } from 'node:fs';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { configText, makeDataDir, removeDir } from '../helpers/mirror-harness.js';

const exec = promisify(execFile);
const BIN = join(process.cwd(), 'bin', 'countersign.js');

async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('check-config accepts every shipped file and names each bad field', async () => {
  const shipped = ['config', 'config/examples'].flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.yaml')).map((f) => `${d}/${f}`));
  assert.ok(shipped.includes('config/examples/oci.yaml'), `shipped configs: ${shipped.join(', ')}`);
  for (const file of shipped) {
    const r = await cli(['check-config', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /valid/);
  }
  const dir = await makeDataDir();
  try {
    await writeFile(join(dir, 'bad.yaml'), 'listen:\n  port: nope\nrepositories:\n  - name: x\n    format: raw\n    upstream: auto\n    verify: maybe\n    surprise: 1\n');
    const r = await cli(['check-config', join(dir, 'bad.yaml')]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /listen\.port/);
    assert.match(r.stderr, /repositories\[0\]\.verify/);
    assert.match(r.stderr, /unknown key "surprise"/);
  } finally {
    await removeDir(dir);
  }
});

test('keys list/export/rotate, with the data directory locked while the mirror runs', { timeout: 120_000 }, async () => {
  const dataDir = await makeDataDir();
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const config = join(dataDir, 'config.yaml');
  await writeFile(config, configText({ listen: { host: '127.0.0.1', port }, dataDir, log: { level: 'warn' }, repositories: [] }));
  try {
    const list = await cli(['--config', config, 'keys', 'list', '--json']);
    assert.equal(list.code, 0, list.stderr);
    const keys = JSON.parse(list.stdout) as { id: string; kind: string; status: string }[];
    const oldId = keys.find((k) => k.kind === 'openpgp' && k.status === 'active')!.id;
    const exported = await cli(['--config', config, 'keys', 'export', 'openpgp']);
    assert.match(exported.stdout, /^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
    assert.doesNotMatch(exported.stdout + list.stdout, /PRIVATE/);

    const server = spawn(process.execPath, [BIN, '--config', config, 'serve'], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 300 && !(await fetch(`http://127.0.0.1:${port}/-/health`).catch(() => undefined))?.ok; i++) await sleep(100);
      const refused = await cli(['--config', config, 'keys', 'rotate', 'openpgp']);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /in use by process \d+/);
    } finally {
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
    }

    const rotated = await cli(['--config', config, 'keys', 'rotate', 'openpgp']);
    assert.equal(rotated.code, 0, rotated.stderr);
    const after = JSON.parse((await cli(['--config', config, 'keys', 'list', '--json'])).stdout) as { id: string; kind: string; status: string }[];
    assert.equal(after.find((k) => k.id === oldId)?.status, 'retired');
    assert.equal(after.filter((k) => k.kind === 'openpgp' && k.status === 'active').length, 1);
    const unknown = await cli(['--config', config, 'keys', 'rotate', 'pgp']);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /Unknown key kind "pgp"/);
  } finally {
    await removeDir(dataDir);
  }
});
