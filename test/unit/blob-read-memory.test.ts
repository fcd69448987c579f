/**
 * Blob read streams are bounded in memory: the first few get 1 MiB buffers (throughput for big
 * layers), the rest 64 KiB, so a thousand concurrent readers do not hold a gigabyte.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openStore } from '../../src/store/open-store.js';

test('beyond 32 open read streams, each buffers 64 KiB; closing them gives the large buffers back', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'countersign-blobs-'));
  const store = await openStore(dir);
  try {
    const { sha256 } = await store.blobs.put(Buffer.alloc(2 * 1024 * 1024, 1));
    const streams = Array.from({ length: 40 }, () => store.blobs.open(sha256));
    const marks = streams.map((s) => s.readableHighWaterMark);
    assert.equal(marks.filter((m) => m === 1024 * 1024).length, 32);
    assert.equal(marks.filter((m) => m === 64 * 1024).length, 8);
    await Promise.all(streams.map((s) => new Promise((resolve) => { s.once('close', resolve); s.destroy(); })));
    const again = store.blobs.open(sha256);
    assert.equal(again.readableHighWaterMark, 1024 * 1024, 'closed streams free their large slots');
    let bytes = 0;
    for await (const c of again) bytes += (c as Buffer).length;
    assert.equal(bytes, 2 * 1024 * 1024);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});
