/**
 * A pass-through HTTP front that counts what it forwards: put between the caches (mirror,
 * nginx) and an upstream that cannot count for itself (docker-registry), so a bench can assert
 * that warm rounds never reached the upstream while the same upstream is measured directly.
 */
import { createServer, request } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface CountingFront {
  readonly url: string;
  requests(): number;
  stop(): Promise<void>;
}

export async function startCountingFront(backend: string): Promise<CountingFront> {
  const target = new URL(backend);
  let count = 0;
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    count++;
    const up = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => count,
    stop: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
