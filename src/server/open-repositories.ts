/**
 * Turns repository configs into MirrorRepositories: resolves `upstream: auto` from the
 * machine's own client configuration (a repository that cannot be resolved is reported and
 * left out), opens the format with its trust, and gives each upstream its own pool.
 */
import { readdir, readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Config, RepositoryConfig } from '../config/load-config.js';
import type { DerivedSignatures } from '../core/derived-signatures.js';
import type { DerivedViews } from '../core/derived-views.js';
import type { KeyStore } from '../keys/types.js';
import { MirrorRepository } from '../core/mirror-repository.js';
import { TrustMaterial, trustEpoch } from '../core/trust-epoch.js';
import { MirrorError, redactUrl } from '../errors.js';
import type { FormatAdapter } from '../formats/types.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { Store } from '../store/open-store.js';
import { UpstreamClient } from '../upstream/upstream-client.js';
import { httpsBaseUrl } from './https-base-url.js';

export interface SkippedRepository {
  name: string;
  reason: string;
}

export async function openRepositories(
  config: Config,
  deps: {
    formats: ReadonlyMap<string, FormatAdapter>; env: NodeJS.ProcessEnv; store: Store; keys: KeyStore;
    signatures: DerivedSignatures; views: DerivedViews; metrics: Metrics; log: Logger;
    /** The clock cache freshness is judged by (see MirrorRepositoryDeps.now). */
    now: () => number;
    /**
     * A worker's repositories (listen.workers): trust epochs as the primary computed them at its
     * start (it alone prunes and counts trust changes), and no upstream client.
     */
    epochs?: Readonly<Record<string, string>>;
  },
): Promise<{ repositories: MirrorRepository[]; skipped: SkippedRepository[]; closeUpstreams(): Promise<void> }> {
  const repositories: MirrorRepository[] = [];
  const skipped: SkippedRepository[] = [];
  const clients: UpstreamClient[] = [];
  for (const repo of config.repositories) {
    const adapter = deps.formats.get(repo.format);
    if (!adapter) throw new MirrorError('CONFIG_INVALID', `Repository "${repo.name}" has unknown format "${repo.format}"`, { repository: repo.name });
    const resolved = await resolveUpstream(repo, adapter, deps.env);
    const upstream = resolved?.upstream;
    if (!upstream) {
      const reason = `upstream: auto could not be resolved from this machine's ${repo.format} client configuration`;
      deps.log.warn({ repo: repo.name, format: repo.format }, `repository left out: ${reason}`);
      skipped.push({ name: repo.name, reason });
      continue;
    }
    // Trust the machine's own client uses fills only what the operator left unset.
    const trust = resolved?.trust ? { ...resolved.trust, ...definedKeys(repo.trust) } : repo.trust;
    const material = new TrustMaterial();
    const format = await adapter.open({
      repository: repo.name,
      trust,
      verify: repo.verify,
      anchor: repo.anchor,
      configDir: config.configDir,
      repositoryUrl: `${config.publicUrl}/${repo.name}`,
      ...secureRepositoryUrl(config, repo.name),
      upstream,
      ...(repo.redirects ? { redirectOrigins: repo.redirects.allow } : {}),
      keys: deps.keys,
      readTrustFile: material.readingFiles((p) => readTrustFile(config.configDir, repo.name, p)),
      listTrustDir: material.listingDirs((p) => listTrustDir(config.configDir, repo.name, p)),
      now: deps.now,
    });
    const epochOf = () => trustEpoch({ mode: repo.verify, anchor: repo.anchor, upstream, trust, material, acceptedChanges: deps.store.index.trustGeneration(repo.name) });
    let epoch = deps.epochs ? primaryEpoch(deps.epochs, repo.name) : epochOf();
    // Digests vouched for under other trust are never consulted again: drop them, so they do not pile up.
    const pruned = deps.epochs ? 0 : deps.store.index.pruneExpectations(repo.name, epoch);
    if (pruned > 0) {
      deps.log.info({ repo: repo.name, pruned }, 'dropped expectations recorded under another trust epoch');
      // Trust changed since the last start. Going back to an earlier configuration (A → B → A) must not
      // give A's epoch again: objects verified under A and untouched under B would count as current
      // while the digests they vouched for were dropped at the switch to B (their packages refused).
      deps.store.index.bumpTrustGeneration(repo.name);
      epoch = epochOf();
    }
    const client = config.offline || deps.epochs ? undefined : createClient({ ...repo, upstream }, deps.metrics, deps.log);
    if (client) clients.push(client);
    repositories.push(new MirrorRepository({ ...repo, upstream }, format, client, {
      store: deps.store, signatures: deps.signatures, views: deps.views, publicUrl: config.publicUrl,
      metrics: deps.metrics, log: deps.log, offline: config.offline, pathPolicy: adapter.pathPolicy ?? {}, now: deps.now,
      trust: { epoch, anchor: repo.anchor },
    }));
    deps.log.info({ repo: repo.name, format: repo.format, upstream: redactUrl(upstream), verify: repo.verify, anchor: repo.anchor, trustEpoch: epoch }, 'repository ready');
  }
  return { repositories, skipped, closeUpstreams: async () => void (await Promise.all(clients.map((c) => c.close()))) };
}

function primaryEpoch(epochs: Readonly<Record<string, string>>, repository: string): string {
  const epoch = epochs[repository];
  if (!epoch) throw new MirrorError('CONFIG_INVALID', `The primary process opened no repository "${repository}": the worker's configuration differs`, { repository });
  return epoch;
}

async function resolveUpstream(
  repo: RepositoryConfig, adapter: FormatAdapter, env: NodeJS.ProcessEnv,
): Promise<{ upstream: string; trust?: Record<string, unknown> } | undefined> {
  if (repo.upstream !== 'auto') return { upstream: repo.upstream };
  const auto = adapter.resolveAutoUpstream ? await adapter.resolveAutoUpstream(env, { name: repo.name, trust: repo.trust }) : undefined;
  if (auto === undefined || typeof auto === 'string') return auto === undefined ? undefined : { upstream: auto };
  return { upstream: auto.upstream, ...(auto.trust ? { trust: auto.trust as Record<string, unknown> } : {}) };
}

function definedKeys(trust: unknown): Record<string, unknown> {
  if (trust === null || typeof trust !== 'object') return {};
  return Object.fromEntries(Object.entries(trust).filter(([, v]) => v !== undefined));
}

function createClient(repo: RepositoryConfig, metrics: Metrics, log: Logger): UpstreamClient {
  return new UpstreamClient({
    baseUrl: repo.upstream,
    repository: repo.name,
    credentials: repo.credentials,
    ...(repo.redirects ? { redirectOrigins: repo.redirects.allow } : {}),
    ...(repo.credentialOrigins ? { credentialOrigins: repo.credentialOrigins } : {}),
    retries: repo.retries,
    timeouts: {
      ...(repo.timeouts?.connect !== undefined ? { connectMs: repo.timeouts.connect } : {}),
      ...(repo.timeouts?.headers !== undefined ? { headersMs: repo.timeouts.headers } : {}),
      ...(repo.timeouts?.body !== undefined ? { bodyMs: repo.timeouts.body } : {}),
    },
    logger: log.child({ repo: repo.name }),
    onRequest: (info) => {
      metrics.upstreamRequests.inc({ repository: repo.name, outcome: info.outcome });
      metrics.upstreamLatency.observe({ repository: repo.name }, info.ms / 1000);
    },
  });
}

async function listTrustDir(configDir: string, repository: string, path: string): Promise<string[]> {
  const dir = resolve(configDir, path);
  try {
    return (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile() || e.isSymbolicLink()).map((e) => e.name).sort();
  } catch (err) {
    throw new MirrorError('CONFIG_INVALID', `Repository "${repository}": cannot list trust directory ${dir}: ${(err as Error).message}`, { repository, file: dir });
  }
}

async function readTrustFile(configDir: string, repository: string, path: string): Promise<Buffer> {
  const file = resolve(configDir, path);
  try {
    return await readFile(file);
  } catch (err) {
    throw new MirrorError('CONFIG_INVALID', `Repository "${repository}": cannot read trust file ${file}: ${(err as Error).message}`, { repository, file });
  }
}

function secureRepositoryUrl(config: Config, name: string): { secureRepositoryUrl?: string } {
  const base = httpsBaseUrl(config);
  return base ? { secureRepositoryUrl: `${base}/${name}` } : {};
}
