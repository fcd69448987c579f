/**
 * The OCI fixture upstream: Debian's `docker-registry` (CNCF distribution) on 127.0.0.1
 * with its own config and storage, filled with `skopeo copy oci:… docker://…`, behind two
 * small HTTP fronts the tests control: an anonymous one with switches (down, tampered
 * blobs, tags/list paging as distribution 3 does it) and a request log, and one behind registry
 * token auth (401 + Bearer challenge, token endpoint with Basic credentials), as Docker Hub does.
 * Docker manifest lists are pushed with the registry's push API (./docker-manifest-list.ts).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { pushDockerManifestList, type PushedList } from './docker-manifest-list.js';
import { freePort } from './mirror-harness.js';
import type { ImagePlatform } from './oci-image.js';
import { answerTagsPage, TAGS_LIST } from './tag-paging-front.js';

const run = promisify(execFile);

export type RegistryMode = 'normal' | 'down' | 'tamper-blobs';

export interface FixtureRegistry {
  /** Anonymous front. */
  readonly url: string;
  /** Front behind token auth; credentials `puller:secret`. */
  readonly authUrl: string;
  /** host:port of the anonymous front (as a docker reference host). */
  readonly host: string;
  readonly backendHost: string;
  push(layoutDir: string, tag: string, name: string, opts?: { all?: boolean; format?: 'v2s2' }): Promise<void>;
  /** A Docker manifest list of Docker schema 2 images under `name:tag`. */
  pushDockerList(name: string, tag: string, platforms: ImagePlatform[]): Promise<PushedList>;
  setMode(mode: RegistryMode): void;
  /** The anonymous front pages tags/list itself, at most `maxPage` tags a page (undefined: as the registry, unpaged). */
  pageTags(maxPage: number | undefined): void;
  /** Blob GETs send all but their last KiB (tampered in tamper-blobs mode) until the returned function is called. */
  holdBlobTails(): () => void;
  /** Requests the anonymous front received whose path matches. */
  requests(match?: (path: string, method: string) => boolean): number;
  readonly tokenRequests: number;
  /** Requests the auth front refused with 401. */
  readonly challenges: number;
  resetCounts(): void;
  stop(): Promise<void>;
}

export const AUTH_USER = 'puller';
export const AUTH_PASSWORD = 'secret';

/** The binary, or a clear failure: the tests must not pass without the real registry. */
export function dockerRegistryBinary(): string {
  const bin = process.env.DOCKER_REGISTRY_BIN ?? '/usr/bin/docker-registry';
  if (!existsSync(bin)) throw new Error(`docker-registry not found at ${bin}: run scripts/install-test-tools.sh (apt-get install docker-registry)`);
  return bin;
}

/** skopeo for pushing fixtures (bookworm's is fine for that; trixie's from .tools/ otherwise). */
export function pushSkopeo(): string {
  const candidates = [process.env.SKOPEO_PUSH, '/usr/bin/skopeo', resolve('.tools/trixie/bin/skopeo')].filter((c): c is string => !!c);
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error(`skopeo not found (tried ${candidates.join(', ')}): run scripts/install-test-tools.sh`);
  return found;
}

export async function startFixtureRegistry(): Promise<FixtureRegistry> {
  const bin = dockerRegistryBinary();
  const dir = await mkdtemp(join(tmpdir(), 'countersign-registry-'));
  const port = await freePort();
  await writeFile(join(dir, 'config.yml'), [
    'version: 0.1',
    'log: {level: error, accesslog: {disabled: true}}',
    `storage: {filesystem: {rootdirectory: ${join(dir, 'storage')}}, delete: {enabled: true}}`,
    `http: {addr: "127.0.0.1:${port}"}`,
    '',
  ].join('\n'));
  const child: ChildProcess = spawn(bin, ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
  const backend = `127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const ok = await fetch(`http://${backend}/v2/`).then((r) => r.status === 200, () => false);
    if (ok) break;
    if (i > 100 || child.exitCode !== null) throw new Error(`docker-registry did not start: ${stderr}`);
    await sleep(100);
  }

  let mode: RegistryMode = 'normal';
  let tagPageLimit: number | undefined;
  let heldBlobs: Promise<void> | undefined;
  const log: { method: string; path: string }[] = [];
  let tokenRequests = 0;
  let challenges = 0;
  let issued = 0;

  const forward = (req: IncomingMessage, res: ServerResponse, tamper: boolean): void => {
    const headers = { ...req.headers, host: backend };
    delete headers.authorization;
    const up = httpRequest({ host: '127.0.0.1', port, method: req.method, path: req.url, headers }, (upRes) => {
      const isBlob = /\/blobs\/sha256:/.test(req.url ?? '') && req.method === 'GET' && upRes.statusCode === 200;
      if (isBlob && heldBlobs) {
        // Everything but the last KiB now, the rest when the test releases it: shows who streams.
        const gate = heldBlobs;
        const chunks: Buffer[] = [];
        upRes.on('data', (c: Buffer) => chunks.push(c));
        upRes.on('end', () => {
          const body = Buffer.concat(chunks);
          if (tamper) flipMiddleByte(body);
          const cut = Math.max(0, body.length - 1024);
          res.writeHead(200, upRes.headers);
          res.write(body.subarray(0, cut));
          void gate.then(() => res.end(body.subarray(cut)));
        });
        return;
      }
      if (!(tamper && isBlob)) {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
        return;
      }
      const chunks: Buffer[] = [];
      upRes.on('data', (c: Buffer) => chunks.push(c));
      upRes.on('end', () => {
        const body = Buffer.concat(chunks);
        flipMiddleByte(body);
        res.writeHead(200, upRes.headers);
        res.end(body);
      });
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  };

  const front = createServer((req, res) => {
    log.push({ method: req.method ?? 'GET', path: req.url ?? '/' });
    if (mode === 'down') {
      req.socket.destroy();
      return;
    }
    if (tagPageLimit !== undefined && req.method === 'GET' && TAGS_LIST.test(new URL(req.url ?? '/', 'http://x').pathname)) {
      answerTagsPage(req, res, backend, tagPageLimit).catch(() => res.destroy());
      return;
    }
    forward(req, res, mode === 'tamper-blobs');
  });
  const authFront: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/token') {
      tokenRequests++;
      const expected = `Basic ${Buffer.from(`${AUTH_USER}:${AUTH_PASSWORD}`).toString('base64')}`;
      if (req.headers.authorization !== expected) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end('{"details":"bad credentials"}');
        return;
      }
      issued++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ token: `tok-${issued}-${url.searchParams.get('scope') ?? ''}`, expires_in: 300, issued_at: new Date().toISOString() }));
      return;
    }
    const name = /^\/v2\/(.+?)\/(?:manifests|blobs|tags|referrers)\//.exec(url.pathname)?.[1];
    const auth = req.headers.authorization ?? '';
    const scope = name ? `repository:${name}:pull` : '';
    if (url.pathname !== '/v2/' && !(auth.startsWith('Bearer tok-') && auth.endsWith(`-${scope}`))) {
      challenges++;
      const { port: ap } = authFront.address() as AddressInfo;
      res.writeHead(401, {
        'content-type': 'application/json',
        'www-authenticate': `Bearer realm="http://127.0.0.1:${ap}/token",service="fixture-registry",scope="${scope}"`,
      });
      res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
      return;
    }
    forward(req, res, false);
  });
  const listen = (s: Server): Promise<number> => new Promise((ok) => s.listen(0, '127.0.0.1', () => ok((s.address() as AddressInfo).port)));
  const frontPort = await listen(front);
  const authPort = await listen(authFront);
  const skopeo = pushSkopeo();

  return {
    url: `http://127.0.0.1:${frontPort}`,
    authUrl: `http://127.0.0.1:${authPort}`,
    host: `127.0.0.1:${frontPort}`,
    backendHost: backend,
    async push(layoutDir, tag, name, opts = {}) {
      const args = ['--insecure-policy', 'copy', '--quiet', '--dest-tls-verify=false'];
      if (opts.all) args.push('--all');
      if (opts.format) args.push('--format', opts.format);
      args.push(`oci:${layoutDir}:${tag}`, `docker://${backend}/${name}:${tag}`);
      await run(skopeo, args, { timeout: 60_000 });
    },
    pushDockerList(name, tag, platforms) {
      return pushDockerManifestList(`http://${backend}`, name, tag, platforms);
    },
    setMode(m) {
      mode = m;
    },
    pageTags(maxPage) {
      tagPageLimit = maxPage;
    },
    holdBlobTails() {
      let release!: () => void;
      heldBlobs = new Promise((ok) => (release = ok));
      return () => {
        heldBlobs = undefined;
        release();
      };
    },
    requests(match) {
      return match ? log.filter((r) => match(r.path, r.method)).length : log.length;
    },
    get tokenRequests() {
      return tokenRequests;
    },
    get challenges() {
      return challenges;
    },
    resetCounts() {
      log.length = 0;
      tokenRequests = 0;
      challenges = 0;
    },
    async stop() {
      for (const s of [front, authFront]) {
        s.closeAllConnections();
        await new Promise<void>((ok) => s.close(() => ok()));
      }
      child.kill('SIGTERM');
      await new Promise<void>((ok) => (child.exitCode !== null ? ok() : child.once('exit', () => ok())));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function flipMiddleByte(body: Buffer): void {
  if (body.length > 0) body.writeUInt8(body.readUInt8(body.length >> 1) ^ 0xff, body.length >> 1);
}
