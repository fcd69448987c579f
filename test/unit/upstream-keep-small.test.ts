/**
 * KeepSmallSink (issue 13): a cold download is copied into memory only while it stays within the
 * limit, so the core can verify and serve it without reading its file back; past the limit the copy
 * is dropped (memory stays bounded) and the inner sink still receives every byte, in order.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { drainBody, KeepSmallSink, MemorySink } from '../../src/upstream/body-sink.js';

test('a body within the limit is handed back whole, and the inner sink got the same bytes', async () => {
  const inner = new MemorySink();
  const keep = new KeepSmallSink(inner, 10);
  const result = await drainBody(Readable.from([Buffer.from('hello '), Buffer.from('you!')]), keep, { maxBytes: 100, contentLength: 10 });
  assert.deepEqual(result, { kind: 'complete', bytes: 10 });
  assert.equal(keep.bytes()?.toString(), 'hello you!');
  assert.equal(inner.bytes().toString(), 'hello you!');
});

test('a body over the limit keeps no copy, yet every byte reaches the inner sink', async () => {
  const inner = new MemorySink();
  const keep = new KeepSmallSink(inner, 8);
  const chunks = [Buffer.from('12345'), Buffer.from('67890'), Buffer.from('abc')];
  await drainBody(Readable.from(chunks), keep, { maxBytes: 100 });
  assert.equal(keep.bytes(), undefined);
  assert.equal(inner.bytes().toString(), '1234567890abc');
});
