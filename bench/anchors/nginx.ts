/**
 * The nginx `proxy_cache` anchor (Debian's nginx, started as this bench's own process with
 * `daemon off;` and a config in a temp dir, never the system service), as
 * /work/shared/specs/benchmarking.md sets it up: one worker, `sendfile on`, `proxy_cache_lock on`,
 * `proxy_cache_valid 200 1h`, a cache key with the Accept form (npm's abbreviated packuments
 * differ from full ones under the same URL). `keepalive_requests` is effectively unlimited
 * (1e9), matching the mirror's `listen.maxRequestsPerSocket: 0`. It writes an access log with
 * a 64 KiB buffer, as the mirror keeps a buffered access log, and keeps cache files open
 * (`open_file_cache`).
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../test/helpers/mirror-harness.js';
import { ALL_CORES } from '../settings.js';
import { spawnOnCpu0, stopChild, waitUntilUp, type Skipped, type Target } from './target.js';

const NGINX = process.env.BENCH_NGINX ?? '/usr/sbin/nginx';

export async function startNginxCache(upstreamUrl: string): Promise<Target | Skipped> {
  const name = 'nginx proxy_cache';
  if (!existsSync(NGINX)) return { name, skipped: `${NGINX} not found (scripts/bench-anchors.sh installs nginx-light)` };
  const prefix = await mkdtemp(join(tmpdir(), 'countersign-bench-nginx-'));
  await mkdir(join(prefix, 'cache'));
  await mkdir(join(prefix, 'logs'));
  const port = await freePort();
  const upstream = new URL(upstreamUrl);
  const root = process.getuid?.() === 0;
  const conf = `
daemon off;
worker_processes ${ALL_CORES ? 'auto' : 1};
${root ? `user ${userInfo().username};` : ''}
pid ${prefix}/nginx.pid;
error_log ${prefix}/logs/error.log error;
events { worker_connections 4096; }
http {
  access_log ${prefix}/logs/access.log combined buffer=64k flush=1s;
  sendfile on;
  tcp_nopush on;
  # Cached responses are files: keep their descriptors open, as a tuned cache would (the mirror
  # keeps small hot blobs in memory).
  open_file_cache max=10000 inactive=10m;
  open_file_cache_valid 10m;
  keepalive_timeout 65s;
  keepalive_requests 1000000000;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  types { application/json json; }
  default_type application/octet-stream;
  map $http_accept $accept_form { "~application/vnd\\.npm\\.install-v1\\+json" corgi; default full; }
  proxy_cache_path ${prefix}/cache levels=1:2 keys_zone=bench:32m max_size=20g inactive=1d use_temp_path=off;
  upstream fixture { server ${upstream.host}; keepalive 16; }
  server {
    listen 127.0.0.1:${port};
    # Readiness, without asking the upstream.
    location = /-/bench-ready { access_log off; return 204; }
    location / {
      proxy_pass http://fixture;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host ${upstream.host};
      proxy_cache bench;
      proxy_cache_lock on;
      proxy_cache_valid 200 1h;
      proxy_cache_key "$request_uri $accept_form";
      proxy_ignore_headers Cache-Control Expires Set-Cookie Vary;
      proxy_buffering on;
      add_header X-Cache-Status $upstream_cache_status;
    }
  }
}
`;
  const confFile = join(prefix, 'nginx.conf');
  await writeFile(confFile, conf);
  const child = spawnOnCpu0(NGINX, ['-c', confFile, '-p', prefix, '-e', join(prefix, 'logs', 'error.log')]);
  try {
    await waitUntilUp(`http://127.0.0.1:${port}/-/bench-ready`, child, 'nginx');
  } catch (err) {
    await stopChild(child);
    const log = await readFile(join(prefix, 'logs', 'error.log'), 'utf8').catch(() => '');
    await rm(prefix, { recursive: true, force: true });
    return { name, skipped: `nginx did not start: ${(err as Error).message} ${log.slice(-500)}` };
  }
  const workerPids = async (): Promise<number[]> => {
    // The worker is the master's child; /proc/<pid>/task/<pid>/children lists it.
    const text = await readFile(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').catch(() => '');
    return text.trim().split(/\s+/).filter(Boolean).map(Number);
  };
  await sleep(50);
  const pids = [child.pid!, ...(await workerPids())];
  return {
    name,
    url: `http://127.0.0.1:${port}`,
    pids,
    async stop() {
      await stopChild(child, 'SIGQUIT');
      await rm(prefix, { recursive: true, force: true });
    },
  };
}
