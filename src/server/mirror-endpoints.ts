/** The mirror's own endpoints under `/-/`: health, metrics and public keys. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MirrorError } from '../errors.js';
import type { App } from './app.js';

type Handler = (app: App, req: IncomingMessage, res: ServerResponse, rest: string[]) => Promise<void> | void;

function send(res: ServerResponse, status: number, contentType: string, body: string | Buffer, head: boolean): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-cache' });
  res.end(head ? undefined : body);
}

const health: Handler = (app, req, res) => {
  const body = {
    status: 'ok',
    offline: app.config.offline,
    // Public: no file system path, upstream URL or credential (the log has those for the operator).
    store: { kind: 'sqlite+fs' },
    keys: app.keys.list().filter((k) => k.status === 'active').map((k) => ({ id: k.id, kind: k.kind, algorithm: k.algorithm })),
    repositories: app.repositories.map((r) => ({ name: r.name, format: r.config.format, verify: r.config.verify })),
    skipped: app.skipped,
  };
  send(res, 200, 'application/json; charset=utf-8', JSON.stringify(body), req.method === 'HEAD');
};

const metrics: Handler = async (app, req, res) => {
  send(res, 200, app.metrics.registry.contentType, await app.metricsText(), req.method === 'HEAD');
};

const keys: Handler = (app, req, res, rest) => {
  const head = req.method === 'HEAD';
  const file = rest.join('/');
  if (file === '') {
    // Every key with its role and status; revoked keys other than OpenPGP have no downloadUrl.
    const list = app.keys.list().map((k) => (k.downloadUrl ? { ...k, downloadUrl: `${app.config.publicUrl}${k.downloadUrl}` } : k));
    return send(res, 200, 'application/json; charset=utf-8', JSON.stringify({ keys: list }), head);
  }
  // Aliases (openpgp.asc, openpgp-unverified.asc, cosign.pub, cosign-unverified.pub, ca.pem,
  // <name>.rsa.pub) and per-key files of retired keys; never a revoked key's own file.
  const pub = app.keys.publicFile(file);
  if (pub) return send(res, 200, pub.contentType, pub.body, head);
  throw new MirrorError('NOT_FOUND', `No public key is published as /-/keys/${file}`, { object: `/-/keys/${file}` });
};

export const MIRROR_ENDPOINTS: Record<string, Handler> = { health, metrics, keys };
