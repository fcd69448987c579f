/**
 * One metrics module: every counter the mirror exports, on a registry per app instance
 * (tests build several apps in one process).
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type Metrics = ReturnType<typeof createMetrics>;

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'countersign_process_' });
  const requests = new Counter({
    name: 'countersign_http_requests_total',
    help: 'Requests served, by repository, format and status',
    labelNames: ['repository', 'format', 'status'] as const,
    registers: [registry],
  });
  const cache = new Counter({
    name: 'countersign_cache_results_total',
    help: 'Cache lookups by result (hit, miss, revalidated, stale, offline)',
    labelNames: ['repository', 'result'] as const,
    registers: [registry],
  });
  const upstreamRequests = new Counter({
    name: 'countersign_upstream_requests_total',
    help: 'Requests sent to upstreams, by outcome',
    labelNames: ['repository', 'outcome'] as const,
    registers: [registry],
  });
  const upstreamLatency = new Histogram({
    name: 'countersign_upstream_request_seconds',
    help: 'Upstream request latency (headers and body)',
    labelNames: ['repository'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const verificationFailures = new Counter({
    name: 'countersign_verification_failures_total',
    help: 'Upstream bytes refused because a signature or digest did not verify',
    labelNames: ['repository', 'code'] as const,
    registers: [registry],
  });
  const signatures = new Counter({
    name: 'countersign_signatures_issued_total',
    help: 'Signatures made by the mirror',
    labelNames: ['repository', 'kind', 'role'] as const,
    registers: [registry],
  });
  const bytesServed = new Counter({
    name: 'countersign_bytes_served_total',
    help: 'Response body bytes sent to clients',
    labelNames: ['repository'] as const,
    registers: [registry],
  });
  const connectionsClosed = new Counter({
    name: 'countersign_http_connections_closed_total',
    help: 'Client connections refused or closed by a listen limit (max-connections, per-client, idle)',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  return { registry, requests, connectionsClosed, cache, upstreamRequests, upstreamLatency, verificationFailures, signatures, bytesServed };
}
