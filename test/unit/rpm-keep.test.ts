/** `packages: keep` pieces: the kept repomd.xml, the trust schema and the setup text. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keptRepomd, parseRepomd } from '../../src/formats/rpm/repomd.js';
import { setupSnippet } from '../../src/formats/rpm/setup.js';
import { rpmTrustSchema } from '../../src/formats/rpm/trust.js';

const data = (type: string, href: string, digest: string) => [
  `  <data type="${type}">`, `    <checksum type="sha256">${digest}</checksum>`, `    <location href="${href}"/>`, '    <timestamp>1700000000</timestamp>', '    <size>10</size>', '  </data>',
].join('\n');
const doc = (...entries: string[]) => Buffer.from(['<?xml version="1.0" encoding="UTF-8"?>', '<repomd xmlns="http://linux.duke.edu/metadata/repo">', '  <revision>1700000000</revision>', ...entries, '</repomd>', ''].join('\n'));
const d = (c: string) => c.repeat(64);

test('without entries to drop, the kept repomd.xml is the upstream buffer itself', () => {
  const bytes = doc(data('primary', 'repodata/p-primary.xml.gz', d('a')), data('updateinfo', 'repodata/u-updateinfo.xml.gz', d('b')));
  assert.equal(keptRepomd(parseRepomd(bytes), bytes), bytes);
});

test('sqlite, zchunk and delta entries are cut out with their lines; every other byte is the upstream\'s', () => {
  const keptEntries = [data('primary', 'repodata/p-primary.xml.gz', d('a')), data('filelists', 'repodata/f-filelists.xml.gz', d('c'))];
  const bytes = doc(keptEntries[0]!, data('primary_db', 'repodata/p-primary.sqlite.bz2', d('d')), keptEntries[1]!, data('primary_zck', 'repodata/p-primary.xml.zck', d('e')), data('prestodelta', 'repodata/x-prestodelta.xml.gz', d('f')));
  const kept = keptRepomd(parseRepomd(bytes), bytes);
  assert.deepEqual(kept, doc(...keptEntries));
  assert.deepEqual(parseRepomd(kept).entries.map((e) => [e.type, e.digest]), [['primary', d('a')], ['filelists', d('c')]]);
});

test('trust.packages takes resign or keep, nothing else; unset means resign', () => {
  assert.equal(rpmTrustSchema.parse({ packages: 'keep' }).packages, 'keep');
  assert.equal(rpmTrustSchema.parse({}).packages, undefined);
  assert.equal(rpmTrustSchema.safeParse({ packages: 'sometimes' }).success, false);
});

test('setup text: keep turns rpm\'s package signature check off and keeps repo_gpgcheck; resign keeps both', () => {
  const keep = setupSnippet('epel', 'http://mirror.example/epel', 'require', 'keep');
  assert.match(keep, /^gpgcheck=0$/m);
  assert.match(keep, /^repo_gpgcheck=1$/m);
  assert.match(keep, /^gpgkey=http:\/\/mirror\.example\/epel\/repodata\/repomd\.xml\.key$/m);
  const resign = setupSnippet('el', 'http://mirror.example/el', 'require');
  assert.match(resign, /^gpgcheck=1$/m);
  assert.match(resign, /^repo_gpgcheck=1$/m);
});
