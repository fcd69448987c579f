import type { ServerResponse } from 'node:http';
import { isMirrorError, MirrorError, storeFullError } from '../errors.js';

export function toMirrorError(err: unknown): MirrorError {
  if (isMirrorError(err)) return err;
  // A full disk is the operator's to fix, not an internal error: say so (507 STORE_FULL).
  return storeFullError(err) ?? new MirrorError('INTERNAL', 'Internal error', {}, { cause: err });
}

/** JSON body naming repository, object and reason; never a stack or an internal path. */
export function sendError(res: ServerResponse, err: MirrorError, head = false): void {
  if (res.headersSent) {
    res.destroy(err);
    return;
  }
  const body = JSON.stringify(err.toJSON());
  res.writeHead(err.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(head ? undefined : body);
}
