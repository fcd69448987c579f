/**
 * Issue 10: "every decompression is streamed with an output cap". Bombs are made by the real
 * tools (gzip, xz, zstd, bzip2); the cap is min(1 GiB, max(1 MiB, 200 × compressed size)).
 * Work is measured by bytes produced and peak RSS of a child process, not by time.
 * Positive controls: real files of every codec round-trip under the cap.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { inflate, inflateAll, inflatedBytes, InflateError, outputCap, type Codec } from '../../src/formats/bounded-inflate.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TOOLS: Record<Exclude<Codec, 'none'>, string> = { gzip: 'gzip -c', xz: 'xz -c -T1', zstd: 'zstd -q -c', bzip2: 'bzip2 -c' };
/** `mib` MiB of zeros through a real compressor. */
const bombOf = (codec: Exclude<Codec, 'none'>, mib: number) => execFileSync('sh', ['-c', `head -c ${mib}M /dev/zero | ${TOOLS[codec]}`], { maxBuffer: 64 << 20 });

test('positive control: real files of every codec round-trip under the cap', async () => {
  const text = Buffer.from(Array.from({ length: 20000 }, (_, i) => `<package n="${i}"/>`).join('\n'));
  for (const codec of Object.keys(TOOLS) as (keyof typeof TOOLS)[]) {
    const packed = execFileSync('sh', ['-c', TOOLS[codec]], { input: text });
    assert.ok(text.length <= outputCap(packed.length), `${codec}: ${text.length} within the cap of ${packed.length} bytes`);
    assert.deepEqual(await inflateAll(packed, codec, outputCap(packed.length)), text, codec);
  }
});

test('bombs of every codec stop at the cap with a precise error, having produced no more than the cap', async () => {
  for (const codec of Object.keys(TOOLS) as (keyof typeof TOOLS)[]) {
    const bomb = bombOf(codec, 64);
    const cap = outputCap(bomb.length);
    assert.ok(cap < 64 << 20, `${codec}: cap ${cap} below the 64 MiB the bomb holds`);
    const before = inflatedBytes();
    let handed = 0;
    await assert.rejects(inflate(bomb, codec, cap, (c) => { handed += c.length; }), (e: unknown) => e instanceof InflateError && e.kind === 'limit' && e.message.includes(`more than ${cap} bytes`), codec);
    const produced = inflatedBytes() - before;
    assert.ok(produced <= cap + (1 << 20), `${codec}: produced ${produced} bytes for a cap of ${cap}`);
    assert.ok(handed <= cap, `${codec}: handed on ${handed} bytes`);
  }
});

test('a zstd frame declaring a 2 GiB window or content is refused before the decoder allocates it', async () => {
  // RFC 8878 §3.1.1: magic, descriptor (FCS 8 bytes, single segment), content size 2^31, one empty raw last block.
  const header = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0xe0, 0, 0, 0, 0x80, 0, 0, 0, 0, 1, 0, 0]);
  const before = inflatedBytes();
  await assert.rejects(inflate(header, 'zstd', outputCap(header.length), () => undefined), (e: unknown) => e instanceof InflateError && e.kind === 'limit' && /window|content/.test(e.message));
  assert.equal(inflatedBytes(), before);
  // Not a frame at all: corrupt, not limit.
  await assert.rejects(inflate(Buffer.from('not zstd at all'), 'zstd', 1 << 20, () => undefined), (e: unknown) => e instanceof InflateError && e.kind === 'corrupt');
});

test('a 1 GiB zstd bomb (~33 KB) decompressed as RPM metadata keeps the process under 400 MB RSS', () => {
  const bomb = bombOf('zstd', 1024);
  assert.ok(bomb.length < 64 * 1024, `${bomb.length} bytes`);
  // In a child, through the RPM format's own decompression and the cap it applies (before this
  // change: a fixed 512 MiB ceiling over a whole-buffer decompression, which took RSS past 1 GiB).
  const script = `
    const m = await import(${JSON.stringify(`${ROOT}src/formats/rpm/decompress.ts`)});
    const bomb = Buffer.from(process.argv[1], 'base64');
    const cap = m.metadataCap ? m.metadataCap(bomb, 'zst') : 512 * 1024 * 1024;
    let outcome = 'accepted';
    try { m.decompressTo ? await m.decompressTo(bomb, 'zst', cap, () => {}) : await m.decompress(bomb, 'zst', cap); } catch (e) { outcome = e.message; }
    process.stdout.write(JSON.stringify({ outcome, maxRssKiB: process.resourceUsage().maxRSS }));`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, bomb.toString('base64')], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 20 });
  const { outcome, maxRssKiB } = JSON.parse(out) as { outcome: string; maxRssKiB: number };
  assert.match(outcome, /decompresses to more than/);
  assert.ok(maxRssKiB < 400 * 1024, `peak RSS ${Math.round(maxRssKiB / 1024)} MB`);
});
