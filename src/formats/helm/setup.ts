import type { VerifyMode } from '../types.js';

/**
 * The client side of a Helm repository, served at `/<repo>/-/setup`: the repository, and the
 * organisation key as the keyring `helm --verify` reads. Helm 3 reads only a legacy binary
 * keyring (go-crypto openpgp.ReadKeyRing): gpg 2's default pubring.kbx and armored files fail,
 * so the armored key is turned into binary packets with `gpg --dearmor` (the same bytes
 * `gpg --export <fingerprint>` writes from a keyring that holds it).
 */
export function setupSnippet(repository: string, repositoryUrl: string, mode: VerifyMode): string {
  const publicUrl = repositoryUrl.slice(0, repositoryUrl.length - repository.length - 1);
  const keyring = 'countersign-keyring.gpg';
  const unverified = mode === 'require'
    ? []
    : [
      `# verify: ${mode}: charts that did not verify upstream are served too, with a .prov signed by the`,
      "# organisation's separate *unverified* key. Add it only if you accept unverified charts:",
      `#   curl -fsSL ${publicUrl}/-/keys/openpgp-unverified.asc | gpg --dearmor >> ${keyring}`,
    ];
  return [
    `# Helm through Countersign: every chart ${repository} serves has a .prov signed by the organisation key.`,
    '# The keyring helm --verify reads must be a binary (legacy) keyring, not gpg\'s pubring.kbx:',
    `curl -fsSL ${publicUrl}/-/keys/openpgp.asc | gpg --dearmor > ${keyring}`,
    `# (or, with the key imported into gpg: gpg --export <fingerprint> > ${keyring})`,
    ...unverified,
    `helm repo add ${repository} ${repositoryUrl}`,
    'helm repo update',
    `helm install --verify --keyring ${keyring} <release> ${repository}/<chart> --version <version>`,
    `# or: helm pull --verify --keyring ${keyring} ${repository}/<chart> --version <version>`,
    '',
  ].join('\n');
}
