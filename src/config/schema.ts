/**
 * The configuration schema (DESIGN.md §3). Strict everywhere: an unknown key is an error,
 * because a misspelt `verify:` silently ignored is a security hole.
 */
import { z } from 'zod';
import { parseDuration } from './duration.js';

const duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${String(v)}" is not a duration (use e.g. 30s, 5m, 1h, 7d)` });
    return z.NEVER;
  }
  return ms;
});

const byteSize = z.union([z.number().int().positive(), z.string()]).transform((v, ctx) => {
  if (typeof v === 'number') return v;
  const m = /^(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB|TiB)?$/.exec(v.trim());
  if (!m) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not a size (use e.g. 512MiB, 10GiB)` });
    return z.NEVER;
  }
  const unit = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4 }[m[2] ?? 'B']!;
  return Math.round(Number(m[1]) * unit);
});

const port = z.coerce.number().int().min(0).max(65535);

/** An origin only: a path, query or userinfo would suggest a narrower match than the one made. */
const origin = z.string().refine((v) => {
  try {
    const u = new URL(v);
    return (u.protocol === 'https:' || u.protocol === 'http:') && !u.username && !u.password && u.pathname === '/' && !u.search && !u.hash;
  } catch {
    return false;
  }
}, 'must be an origin: scheme, host and optional port (e.g. https://cdn.upstream.example)');

const RESERVED_NAMES = new Set(['-', 'v2']);

export const repositorySchema = z.strictObject({
  name: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'must be lowercase letters, digits, ".", "_" or "-", starting with a letter or digit')
    .refine((n) => !RESERVED_NAMES.has(n), 'is reserved for the mirror'),
  format: z.string().min(1),
  upstream: z.string().min(1),
  verify: z.enum(['require', 'warn', 'off']).default('require'),
  /**
   * Trust the configuration does not pin (npm's registry keys) is refused under `require`, unless
   * `first-use`: what the upstream serves first is pinned into the data directory, a change refused.
   */
  anchor: z.enum(['pinned', 'first-use']).default('pinned'),
  trust: z.record(z.string(), z.unknown()).default({}),
  metadataTtl: duration.default(300_000),
  /**
   * How long an upstream 404/410 for an object is remembered and answered without asking the
   * upstream again (0: not remembered). Clients that probe many repositories (Maven) profit.
   */
  notFoundTtl: duration.default(0),
  maxObjectSize: byteSize.optional(),
  maxInMemorySize: byteSize.optional(),
  credentials: z
    .strictObject({ username: z.string().optional(), password: z.string().optional(), token: z.string().optional() })
    .optional(),
  timeouts: z
    .strictObject({ connect: duration.optional(), headers: duration.optional(), body: duration.optional() })
    .optional(),
  retries: z.number().int().min(0).max(10).default(2),
  /**
   * Origins (scheme, host, port) a redirect from the upstream may lead to. Without an entry a
   * redirect stays on the upstream's origin, except for objects named by their SHA-256 (OCI
   * blobs), which may go to a public address; internal addresses only when listed here.
   */
  redirects: z.strictObject({ allow: z.array(origin).default([]) }).optional(),
  /** Origins besides the upstream's own that may receive `credentials` as a token realm. */
  credentialOrigins: z.array(origin).optional(),
});

export const configSchema = z.strictObject({
  listen: z
    .strictObject({
      host: z.string().default('127.0.0.1'),
      port: port.default(8080),
      https: z
        .strictObject({
          port,
          cert: z.string().optional(),
          key: z.string().optional(),
          hosts: z.array(z.string()).default(['localhost', '127.0.0.1']),
        })
        .refine((h) => (h.cert === undefined) === (h.key === undefined), 'cert and key must be given together')
        .optional(),
      // Limits against slow or greedy clients (both listeners). A client that trickles its
      // request head (slowloris) is answered 408 and closed after headersTimeout; one that opens
      // connections without end is refused past maxConnectionsPerClient (per remote address) or
      // maxConnections (in all), so the others are still answered.
      /** The whole request head must arrive within this. */
      headersTimeout: duration.default(20_000),
      /** The whole request (head and body; the mirror is read-only, so bodies are empty) within this. */
      requestTimeout: duration.default(60_000),
      /** An idle keep-alive connection is closed after this. */
      keepAliveTimeout: duration.default(65_000),
      /**
       * A response that makes no progress this long (a client that stops reading) is closed. The wait
       * for an upstream before the first byte is not counted: upstream timeouts govern it.
       */
      idleTimeout: duration.default(120_000),
      maxConnections: z.number().int().positive().default(2048),
      // Generous: a build farm behind one NAT address is one client here, and clients open a
      // connection per parallel download (npm, docker, a test's 100 concurrent fetches).
      maxConnectionsPerClient: z.number().int().positive().default(256),
      /** Requests served on one keep-alive connection before the mirror asks the client to reconnect (0: no limit). */
      maxRequestsPerSocket: z.number().int().min(0).default(1000),
      maxHeadersCount: z.number().int().positive().max(2000).default(100),
      maxHeaderSize: byteSize.default(16 * 1024),
      /**
       * Processes serving the HTTP port: `auto` is one per core, at most 8. With more than one, workers answer
       * warm hits from the store and a primary process does all fetching, verifying, signing and
       * writing (see src/server/cluster.ts); the connection limits apply per worker.
       */
      workers: z.union([z.literal('auto'), z.coerce.number().int().min(1).max(256)]).default(1),
    })
    // 0 would switch node's timeout off: a mirror facing slow clients keeps every one.
    .refine((l) => l.headersTimeout > 0, { message: 'must be more than 0', path: ['headersTimeout'] })
    .refine((l) => l.requestTimeout > 0, { message: 'must be more than 0', path: ['requestTimeout'] })
    .refine((l) => l.idleTimeout > 0, { message: 'must be more than 0', path: ['idleTimeout'] })
    .refine((l) => l.headersTimeout <= l.requestTimeout, { message: 'headersTimeout must not exceed requestTimeout', path: ['headersTimeout'] })
    .refine((l) => l.maxConnectionsPerClient <= l.maxConnections, { message: 'maxConnectionsPerClient must not exceed maxConnections', path: ['maxConnectionsPerClient'] })
    .prefault({}),
  // An empty value (an unset variable with an empty default) means: derive it from `listen`.
  publicUrl: z.preprocess((v) => (v === '' ? undefined : v), z.url({ protocol: /^https?$/ }).optional()),
  dataDir: z.string().default('./data'),
  offline: z.boolean().default(false),
  log: z
    .strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') })
    .prefault({}),
  keys: z
    .strictObject({
      openpgp: z.enum(['rsa4096', 'ed25519']).default('rsa4096'),
      ecdsaCurve: z.enum(['P-224', 'P-256', 'P-384', 'P-521']).default('P-256'),
      rsaKeyName: z.string().regex(/^[A-Za-z0-9._@-]{1,64}$/).optional(),
      identity: z.string().default('Countersign mirror'),
    })
    .prefault({}),
  limits: z
    .strictObject({
      maxObjectSize: byteSize.default(8 * 1024 ** 3),
      /**
       * Objects a format must hold whole in memory to verify or derive (indexes, packuments, RPM and
       * Alpine packages it re-signs) are refused above this; streamed objects only obey maxObjectSize.
       */
      maxInMemorySize: byteSize.default(1024 ** 3),
      memoryCache: byteSize.default(256 * 1024 ** 2),
    })
    .prefault({}),
  repositories: z.array(repositorySchema).default([]),
});

export type ConfigInput = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;
export type RepositoryConfigParsed = z.output<typeof repositorySchema>;
