/**
 * `countersign keys list|export|import|rotate|revoke`. Mutations take the data directory's lock, so
 * they run while the mirror is stopped (a running mirror holds its keys in memory).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadConfigFile, type Config } from '../config/load-config.js';
import { MirrorError } from '../errors.js';
import { FORMATS } from '../formats/index.js';
import { openKeyStore } from '../keys/key-store.js';
import { KEY_KINDS, type KeyKind, type KeyStore } from '../keys/types.js';
import { lockDataDir } from '../store/data-dir-lock.js';

async function withKeys<T>(configFile: string, mutate: boolean, fn: (keys: KeyStore, config: Config) => Promise<T>): Promise<T> {
  const config = await loadConfigFile(configFile, FORMATS);
  const lock = mutate ? await lockDataDir(config.dataDir) : undefined;
  try {
    const keys = await openKeyStore({
      dir: join(config.dataDir, 'keys'),
      passphrase: process.env.COUNTERSIGN_KEY_PASSPHRASE || undefined,
      options: config.keys,
      logger: { info: (obj, msg) => process.stderr.write(`${msg ?? ''} ${JSON.stringify(obj)}\n`) },
    });
    return await fn(keys, config);
  } finally {
    await lock?.release();
  }
}

function kindArg(value: string): KeyKind {
  if (!(KEY_KINDS as readonly string[]).includes(value)) {
    throw new MirrorError('KEY_ERROR', `Unknown key kind "${value}" (known: ${KEY_KINDS.join(', ')})`);
  }
  return value as KeyKind;
}

export function registerKeysCommands(program: Command, configFile: () => string): void {
  const keys = program.command('keys').description("manage the organisation's signing keys");

  keys
    .command('list')
    .option('--json', 'print JSON', false)
    .description('list every key: id, kind, algorithm, status')
    .action(async (opts: { json: boolean }) =>
      withKeys(configFile(), false, async (store) => {
        const list = store.list();
        if (opts.json) return void process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
        for (const k of list) {
          process.stdout.write(`${k.status.padEnd(8)} ${k.role.padEnd(10)} ${k.kind.padEnd(18)} ${k.algorithm.padEnd(16)} ${k.id}  ${k.downloadUrl ?? '(unpublished)'}\n`);
        }
      }),
    );

  keys
    .command('export')
    .argument('<kind>', `one of ${KEY_KINDS.join(', ')}`)
    .argument('[id]', 'a specific (retired) key id')
    .description('print the public key of a kind (there is no private export)')
    .action(async (kind: string, id?: string) =>
      withKeys(configFile(), false, async (store) => void process.stdout.write(store.exportPublic(kindArg(kind), id))),
    );

  keys
    .command('import')
    .argument('<kind>', `one of ${KEY_KINDS.join(', ')}`)
    .argument('<files...>', 'private key file (x509 kinds: certificate and key files)')
    .option('--passphrase-env <var>', 'environment variable holding the passphrase of the imported key')
    .description("make the organisation's own key active; the previous one is retired")
    .action(async (kind: string, files: string[], opts: { passphraseEnv?: string }) =>
      withKeys(configFile(), true, async (store) => {
        const material = (await Promise.all(files.map((f) => readFile(f, 'utf8')))).join('\n');
        const passphrase = opts.passphraseEnv ? process.env[opts.passphraseEnv] : undefined;
        const info = await store.importKey(kindArg(kind), material, passphrase ? { passphrase } : {});
        process.stdout.write(`imported ${info.kind} ${info.algorithm} ${info.id} (active)\n`);
      }),
    );

  keys
    .command('rotate')
    .argument('<kind>', `one of ${KEY_KINDS.join(', ')}`)
    .description('make a new active key; the old one is retired and stays published')
    .action(async (kind: string) =>
      withKeys(configFile(), true, async (store) => {
        const info = await store.rotate(kindArg(kind));
        process.stdout.write(`rotated ${info.kind}: new active key ${info.id}\n`);
      }),
    );

  keys
    .command('revoke')
    .argument('<kind>', `one of ${KEY_KINDS.join(', ')}`)
    .argument('[id]', 'the compromised key id (default: the active key, which is replaced first)')
    .option('--reason <text>', 'why the key is revoked (published with the revocation)')
    .description('withdraw a compromised key: it never signs again and is unpublished (OpenPGP: published revoked)')
    .action(async (kind: string, id: string | undefined, opts: { reason?: string }) =>
      withKeys(configFile(), true, async (store) => {
        const info = await store.revoke(kindArg(kind), id, opts.reason);
        const active = store.list().find((k) => k.kind === info.kind && k.status === 'active');
        process.stdout.write(`revoked ${info.kind} ${info.id}; active key ${active?.id ?? '(none)'}\n`);
      }),
    );
}
