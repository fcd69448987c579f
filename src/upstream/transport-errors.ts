/**
 * Reading undici/Node transport errors: which are timeouts (UPSTREAM_TIMEOUT) and a short
 * reason for messages. Everything else on the wire counts as UPSTREAM_UNAVAILABLE.
 */
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

export function isTimeout(err: unknown): boolean {
  return TIMEOUT_CODES.has(errorCode(err) ?? '');
}

/** A short reason for logs and messages, e.g. "ECONNREFUSED" or "UND_ERR_SOCKET: other side closed". */
export function transportReason(err: unknown): string {
  const code = errorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  if (code && message && !message.includes(code)) return `${code}: ${message}`;
  return message || code || 'unknown error';
}

function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  // Node wraps some socket errors (AggregateError for multi-address connects).
  const inner = (err as { errors?: unknown[] }).errors?.[0] ?? (err as { cause?: unknown }).cause;
  return inner && inner !== err ? errorCode(inner) : undefined;
}
