/**
 * Upstream credentials become one Authorization header value. It is attached only to
 * requests for the base URL's origin (see UpstreamClient), never to a redirect target
 * elsewhere: a CDN or a hostile redirect must not receive the mirror's upstream secrets.
 */
export interface UpstreamCredentials {
  username?: string;
  password?: string;
  /** Sent as a Bearer token; wins over username/password. */
  token?: string;
}

export function authorizationHeader(credentials: UpstreamCredentials | undefined): string | undefined {
  if (!credentials) return undefined;
  if (credentials.token) return `Bearer ${credentials.token}`;
  if (credentials.username === undefined && credentials.password === undefined) return undefined;
  const pair = `${credentials.username ?? ''}:${credentials.password ?? ''}`;
  return `Basic ${Buffer.from(pair, 'utf8').toString('base64')}`;
}

/** Explicit credentials override those embedded in the base URL, field by field. */
export function mergeCredentials(fromUrl: UpstreamCredentials, explicit: UpstreamCredentials | undefined): UpstreamCredentials {
  return { ...fromUrl, ...stripUndefined(explicit ?? {}) };
}

function stripUndefined(c: UpstreamCredentials): UpstreamCredentials {
  const out: UpstreamCredentials = {};
  if (c.username !== undefined) out.username = c.username;
  if (c.password !== undefined) out.password = c.password;
  if (c.token !== undefined) out.token = c.token;
  return out;
}
