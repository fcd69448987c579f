/**
 * Bounded retries of idempotent upstream requests. `Retryable` marks a failure another
 * attempt may fix (5xx, reset, timeout, truncated body); it only travels inside the client,
 * callers always get the MirrorError it wraps. Delays grow exponentially so a struggling
 * upstream is not hammered, are jittered so many objects retrying at once do not
 * synchronise, and are capped so a client never waits long on retries alone.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { MirrorError } from '../errors.js';

export class Retryable extends Error {
  readonly error: MirrorError;

  constructor(error: MirrorError) {
    super(error.message);
    this.error = error;
  }
}

export interface BackoffOptions {
  /** First delay before jitter (ms). */
  baseMs: number;
  /** Upper bound of any single delay (ms). */
  capMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 100, capMs: 2_000 };

/**
 * Delay before retry number `attempt` (0 for the first retry): "equal jitter", i.e. half
 * the exponential step plus a random half, so there is always some pause.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const step = Math.min(options.capMs, options.baseMs * 2 ** Math.max(0, attempt));
  return Math.round(step / 2 + random() * (step / 2));
}

/** Methods that may be repeated without changing anything upstream. */
export function isIdempotent(method: string): boolean {
  return method === 'GET' || method === 'HEAD';
}

export interface RetryPolicy {
  method: string;
  retries: number;
  backoff: BackoffOptions;
  /** Checked before every attempt; throwing stops (e.g. the client was closed). */
  beforeAttempt?: () => void;
  onRetry?: (error: MirrorError, attempt: number, delayMs: number) => void;
}

export async function withRetries<T>(policy: RetryPolicy, attempt: () => Promise<T>): Promise<T> {
  for (let n = 0; ; n++) {
    policy.beforeAttempt?.();
    try {
      return await attempt();
    } catch (err) {
      if (!(err instanceof Retryable)) throw err;
      if (n >= policy.retries || !isIdempotent(policy.method)) throw err.error;
      const delayMs = backoffDelay(n, policy.backoff);
      policy.onRetry?.(err.error, n + 1, delayMs);
      await sleep(delayMs);
    }
  }
}
