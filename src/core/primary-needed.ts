/**
 * What a worker (listen.workers) cannot do: fetch, verify, sign or store. It serves what the
 * primary already stored under today's trust and forwards the rest to it, so one process writes
 * the store, one flight per object reaches the upstream, and only the primary holds signing work.
 */
import { MirrorError } from '../errors.js';

export function primaryNeeded(repository: string, object: string): MirrorError {
  return new MirrorError('PRIMARY_NEEDED', `${object} is not stored under today's trust: the primary process serves it`, { repository, object });
}
