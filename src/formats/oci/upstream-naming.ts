/**
 * How an image is named upstream (Docker Hub's `library/` for single-component names) and
 * which `docker-reference` identities its signatures carry. Identity matching rules are in
 * ../shared/specs/formats-pki.md §1.6: containers/image compares host:port literally and,
 * for a repository-only identity, needs a `matchRepository` / `exactRepository` policy.
 */
import type { OciTrust } from './trust.js';

export interface UpstreamNaming {
  /** The registry name in `upstream` identities (`docker.io` for Docker Hub); "" when the upstream is unknown. */
  readonly registry: string;
  /** How clients name this repository at the mirror: `<publicUrl host>/<repository>`. */
  readonly mirrorRepository: string;
  upstreamName(name: string): string;
  /** The docker-reference of each signature layer for an image requested as `name`. */
  identities(name: string): string[];
}

const DOCKER_HUB_HOSTS = new Set(['registry-1.docker.io', 'index.docker.io', 'docker.io', 'registry.hub.docker.com']);

export function upstreamNaming(args: { repository: string; repositoryUrl: string; upstream: string | undefined; trust: OciTrust }): UpstreamNaming {
  const { repository, repositoryUrl, upstream, trust } = args;
  let upstreamHost = '';
  try {
    if (upstream) upstreamHost = new URL(upstream).host.toLowerCase();
  } catch {
    // The upstream client reports an invalid URL; identities then use upstreamRegistry only.
  }
  const hub = DOCKER_HUB_HOSTS.has(upstreamHost.replace(/:443$/, ''));
  const officialPrefix = trust.officialPrefix ?? (hub ? 'library' : '');
  const registry = trust.upstreamRegistry ?? (hub ? 'docker.io' : upstreamHost);
  const mirrorHost = new URL(repositoryUrl).host.toLowerCase();
  const upstreamName = (name: string): string => (officialPrefix && !name.includes('/') ? `${officialPrefix}/${name}` : name);
  return {
    registry,
    mirrorRepository: `${mirrorHost}/${repository}`,
    upstreamName,
    identities(name) {
      const out: string[] = [];
      for (const id of trust.signedIdentities) {
        const ref = id === 'mirror' ? `${mirrorHost}/${repository}/${name}` : id === 'upstream' ? `${registry}/${upstreamName(name)}` : `${id}/${name}`;
        if (!out.includes(ref)) out.push(ref);
      }
      return out;
    },
  };
}
