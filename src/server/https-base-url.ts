import type { Config } from '../config/load-config.js';

/**
 * Where clients reach the mirror over HTTPS, for formats whose clients insist on it (SwiftPM,
 * NuGet's RepositorySignatures): `publicUrl` when it is already https, else the HTTPS listener
 * under its first configured host name; undefined without an HTTPS listener.
 */
export function httpsBaseUrl(config: Pick<Config, 'publicUrl' | 'listen'>): string | undefined {
  if (config.publicUrl.startsWith('https://')) return config.publicUrl;
  const https = config.listen.https;
  if (!https || https.port === 0) return undefined;
  const host = https.hosts[0] ?? config.listen.host;
  const named = host.includes(':') ? `[${host}]` : host;
  return https.port === 443 ? `https://${named}` : `https://${named}:${https.port}`;
}
