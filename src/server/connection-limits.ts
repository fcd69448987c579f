/**
 * Limits every listener applies against slow or greedy clients (config `listen:`): node's own
 * head/request/keep-alive timeouts and header caps, a total connection cap (node refuses past
 * it before any parsing), a cap per remote address so one client cannot take all of them, and
 * an idle timeout on responses that stop moving (a client that no longer reads).
 */
import type { Server, ServerOptions, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Config } from '../config/load-config.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';

export type ListenLimits = Pick<Config['listen'],
  'headersTimeout' | 'requestTimeout' | 'keepAliveTimeout' | 'idleTimeout' | 'maxConnections'
  | 'maxConnectionsPerClient' | 'maxRequestsPerSocket' | 'maxHeadersCount' | 'maxHeaderSize'>;

/** Options node takes only at creation. */
export function serverOptions(limits: ListenLimits): ServerOptions {
  return {
    keepAlive: true,
    headersTimeout: limits.headersTimeout,
    requestTimeout: limits.requestTimeout,
    maxHeaderSize: limits.maxHeaderSize,
    // node checks head and request deadlines on this period (default 30 s): a short headersTimeout
    // would otherwise hold a slowloris socket up to 30 s longer than configured.
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(limits.headersTimeout / 4))),
  };
}

/** Responses in progress per socket: the idle timeout spares a socket whose response has not started. */
export type ActiveResponses = WeakMap<Socket, ServerResponse>;

export function applyLimits(server: Server, limits: ListenLimits, deps: { metrics: Metrics; log: Logger; active: ActiveResponses }): void {
  server.keepAliveTimeout = limits.keepAliveTimeout;
  server.maxHeadersCount = limits.maxHeadersCount;
  server.maxRequestsPerSocket = limits.maxRequestsPerSocket;
  server.maxConnections = limits.maxConnections;
  server.on('drop', () => {
    deps.metrics.connectionsClosed.inc({ reason: 'max-connections' });
  });

  const perClient = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    // Without an address (already gone) there is nothing to count or to serve.
    const client = socket.remoteAddress;
    if (client === undefined) return void socket.destroy();
    const open = perClient.get(client) ?? 0;
    if (open >= limits.maxConnectionsPerClient) {
      deps.metrics.connectionsClosed.inc({ reason: 'per-client' });
      deps.log.warn({ client, open }, 'connection refused: too many connections from one client');
      socket.destroy();
      return;
    }
    perClient.set(client, open + 1);
    // The map holds only addresses with open connections, so it is bounded by maxConnections.
    socket.once('close', () => {
      const left = (perClient.get(client) ?? 1) - 1;
      if (left <= 0) perClient.delete(client);
      else perClient.set(client, left);
    });
  });

  server.setTimeout(limits.idleTimeout, (socket: Socket) => {
    const res = deps.active.get(socket);
    // Still waiting on the upstream for the first byte: its own timeouts answer the client in time.
    // The socket's timer re-arms with the first write.
    if (res && !res.headersSent) return;
    deps.metrics.connectionsClosed.inc({ reason: 'idle' });
    socket.destroy();
  });
}
