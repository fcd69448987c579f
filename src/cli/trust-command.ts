/**
 * `countersign trust list|accept`: what a repository pinned on first use (`anchor: first-use`),
 * and the operator's acceptance of a change. Accepting forgets the pin: the next material the
 * upstream serves is pinned, and since pins are part of the trust epoch, everything verified
 * under the old pin is re-verified at its next request. Run with the mirror stopped (the store lock).
 */
import type { Command } from 'commander';
import { loadConfigFile } from '../config/load-config.js';
import { MirrorError } from '../errors.js';
import { FORMATS } from '../formats/index.js';
import { openStore } from '../store/open-store.js';

export function registerTrustCommands(program: Command, cfg: () => string): void {
  const trust = program.command('trust').description('trust pinned on first use (anchor: first-use)');

  trust
    .command('list')
    .argument('<repository>', 'repository name')
    .description('print what the repository pinned on first use')
    .action(async (repository: string) => {
      await withStore(cfg(), repository, (index) => {
        const pins = index.trustPins(repository);
        const lines = pins.map((p) => `${p.name}\tsha256:${p.sha256}\tpinned ${new Date(p.pinnedAt).toISOString()}`);
        process.stdout.write(lines.length > 0 ? `${lines.join('\n')}\n` : `${repository}: nothing pinned\n`);
      });
    });

  trust
    .command('accept')
    .argument('<repository>', 'repository name')
    .argument('[name]', 'the pin to forget (default: every pin of the repository)')
    .description('accept a change of pinned trust material: the next one the upstream serves is pinned')
    .action(async (repository: string, name?: string) => {
      await withStore(cfg(), repository, (index) => {
        const removed = index.forgetPins(repository, name);
        if (removed === 0) throw new MirrorError('NOT_FOUND', `${repository} has no pin${name ? ` named ${name}` : ''} to accept a change of`, { repository });
        process.stdout.write(`${repository}: forgot ${removed} pin(s); the next material the upstream serves will be pinned\n`);
      });
    });
}

async function withStore(configFile: string, repository: string, run: (index: Awaited<ReturnType<typeof openStore>>['index']) => void): Promise<void> {
  const config = await loadConfigFile(configFile, FORMATS);
  if (!config.repositories.some((r) => r.name === repository)) {
    throw new MirrorError('REPOSITORY_NOT_FOUND', `No repository named ${repository} in ${configFile}`, { repository });
  }
  const store = await openStore(config.dataDir, { keepTemps: true });
  try {
    run(store.index);
  } finally {
    await store.close();
  }
}
