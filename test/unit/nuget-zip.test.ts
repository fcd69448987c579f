/**
 * The .nupkg zip handling against python's zipfile (a reader nobody here wrote), and hostile
 * packages: misplaced or doubled signature entries, compressed ones, truncation, random damage,
 * a nuspec bomb and a registration gzip bomb all end in a precise error, never a crash.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { describe, test } from 'node:test';
import { nuspecOf } from '../../src/formats/nuget/nuspec.js';
import { registrationText } from '../../src/formats/nuget/registration.js';
import { checkPackageSignature } from '../../src/formats/nuget/signature-check.js';
import { appendSignature, parseZip, signatureEntry, withoutSignature, ZipError } from '../../src/formats/nuget/zip.js';
import { buildNupkg } from '../helpers/nuget-fixture-sign.js';

const run = promisify(execFile);

async function python(script: string, file: Buffer): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'nuget-zip-'));
  await writeFile(join(dir, 'p.zip'), file);
  const { stdout } = await run('python3', ['-c', script, join(dir, 'p.zip')]);
  return stdout.trim();
}

async function pythonEdit(script: string, file: Buffer): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'nuget-zip-'));
  await writeFile(join(dir, 'p.zip'), file);
  await run('python3', ['-c', script, join(dir, 'p.zip')]);
  return readFile(join(dir, 'p.zip'));
}

const at = new Date(Date.UTC(2025, 5, 1, 12, 0, 0));

describe('nuget zip', () => {
  test('a signature entry appended as NuGet does: python reads it stored, last, flags 0; removing it gives the original back', async () => {
    const original = await buildNupkg('zip.pkg', '1.0.0');
    const signed = appendSignature(parseZip(original), Buffer.from('not really CMS'), at);
    const info = await python(`
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1]); i = z.infolist()[-1]
print(i.filename, i.compress_type, i.flag_bits, i.external_attr, len(i.extra), z.read(i).decode(), z.testzip())`, signed);
    assert.equal(info, '.signature.p7s 0 0 0 0 not really CMS None');
    const layout = parseZip(signed);
    assert.deepEqual(withoutSignature(layout, signatureEntry(layout)!), original);
    assert.throws(() => appendSignature(layout, Buffer.from('x'), at), /already signed/);
  });

  test('misplaced, doubled or compressed signature entries are refused', async () => {
    const original = await buildNupkg('zip.pkg', '1.0.0');
    const signed = appendSignature(parseZip(original), Buffer.from('sig'), at);
    const after = await pythonEdit(`
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], 'a') as z: z.writestr('late.txt', 'after the signature')`, signed);
    const a = parseZip(after);
    assert.throws(() => withoutSignature(a, signatureEntry(a)!), /not the last/);
    const twice = await pythonEdit(`
import sys, zipfile, warnings
warnings.simplefilter('ignore')
with zipfile.ZipFile(sys.argv[1], 'a') as z: z.writestr('.signature.p7s', 'again')`, signed);
    assert.throws(() => signatureEntry(parseZip(twice)), /2 .signature.p7s entries/);
    const deflated = await pythonEdit(`
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], 'a', zipfile.ZIP_DEFLATED) as z: z.writestr('.signature.p7s', 'compressed' * 10)`, original);
    const d = parseZip(deflated);
    assert.throws(() => withoutSignature(d, signatureEntry(d)!), /not stored/);
  });

  test('truncated or randomly damaged packages fail with ZipError only', async () => {
    const original = appendSignature(parseZip(await buildNupkg('zip.pkg', '1.0.0')), randomBytes(300), at);
    for (const cut of [0, 10, 21, original.length - 1, original.length - 23]) {
      assert.throws(() => parseZip(original.subarray(0, cut)), ZipError, `cut at ${cut}`);
    }
    for (let i = 0; i < 400; i++) {
      const damaged = Buffer.from(original);
      for (let k = 0; k < 3; k++) damaged[Math.floor(Math.random() * damaged.length)] = Math.floor(Math.random() * 256);
      try {
        const layout = parseZip(damaged);
        const sig = signatureEntry(layout);
        if (sig) withoutSignature(layout, sig);
      } catch (err) {
        assert.ok(err instanceof ZipError, `only ZipError, got ${(err as Error).name}: ${(err as Error).message}`);
      }
    }
  });

  test('a nuspec bomb and a registration gzip bomb stop at their caps', async () => {
    const bomb = await pythonEdit(`
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:
    i = zipfile.ZipInfo('bomb.pkg.nuspec'); i.compress_type = zipfile.ZIP_DEFLATED; i.file_size = 10
    z.writestr('bomb.pkg.nuspec', b'\\0' * (64 * 1024 * 1024))`, Buffer.alloc(0));
    assert.throws(() => nuspecOf(bomb, 'bomb.pkg'), /larger than|maxOutputLength|Cannot create a Buffer|buffer/i);
    const gz = gzipSync(Buffer.alloc(64 * 1024 * 1024));
    await assert.rejects(registrationText(gz));
  });

  test('signature checks on garbage report, never throw', () => {
    for (const bytes of [Buffer.alloc(0), randomBytes(64), Buffer.from([0x30, 0x82, 0xff, 0xff]), Buffer.from([0x30, 0x03, 0x06, 0x01, 0x00])]) {
      const check = checkPackageSignature(bytes);
      assert.equal(check.ok, false);
    }
  });
});
