#!/usr/bin/env node
/** `countersign` command line: serve, check-config, keys, trust, verify-store, warm. */
import { Command } from 'commander';
import { isMirrorError } from '../errors.js';
import { checkConfig } from './check-config.js';
import { configPath } from './config-path.js';
import { registerKeysCommands } from './keys-command.js';
import { serve } from './serve.js';
import { registerTrustCommands } from './trust-command.js';
import { verifyStoreCommand } from './verify-store-command.js';
import { warm } from './warm.js';

const program = new Command()
  .name('countersign')
  .description('A caching mirror for package registries that verifies upstream signatures and re-signs with your keys')
  .option('-c, --config <file>', 'configuration file (default: $COUNTERSIGN_CONFIG or config/default.yaml)');

const cfg = (): string => configPath(program.opts<{ config?: string }>().config);

program.command('serve').description('start the mirror').action(async () => serve(cfg()));

program
  .command('check-config')
  .argument('[file]', 'configuration file to validate')
  .description('validate a configuration file the way serve does')
  .action(async (file?: string) => checkConfig(file ?? cfg()));

program
  .command('verify-store')
  .description('re-hash every blob and report corrupt, missing, partial and orphaned ones')
  .option('--repair', 'evict corrupt blobs and remove orphans and partial files', false)
  .option('--json', 'print the report as JSON', false)
  .action(async (opts: { repair: boolean; json: boolean }) => {
    process.exitCode = await verifyStoreCommand(cfg(), opts);
  });

program
  .command('warm')
  .argument('<file>', 'package-lock.json, pom.xml, mvn dependency:list output, requirements.txt, pylock.toml, Chart.lock, or a text file of paths')
  .requiredOption('--repo <name>', 'repository to warm')
  .option('--mirror <url>', 'the running mirror', 'http://127.0.0.1:8080')
  .option('--concurrency <n>', 'parallel requests', '8')
  .option('--no-progress', 'no progress bar')
  .description('pre-fetch everything a lockfile or path list names through a running mirror, for offline use')
  .action(async (file: string, opts: { repo: string; mirror: string; concurrency: string; progress: boolean }) => {
    process.exitCode = await warm(file, { ...opts, concurrency: Number(opts.concurrency) });
  });

registerKeysCommands(program, cfg);
registerTrustCommands(program, cfg);

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`countersign: ${isMirrorError(err) || err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 2;
});
