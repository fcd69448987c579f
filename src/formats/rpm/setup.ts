import type { VerifyMode } from '../types.js';

/** The client side of an RPM repository: the .repo file dnf/yum need, served at `/<repo>/-/setup`. */
export function setupSnippet(repository: string, repositoryUrl: string, mode: VerifyMode): string {
  const keysNote = mode === 'require'
    ? ['# Packages and repomd.xml are signed by the organisation key published beside the metadata.']
    : [
      `# verify: ${mode}: what the upstream did not sign verifiably is served too, signed by the`,
      "# organisation's separate *unverified* key; repomd.xml.key holds it beside the primary key,",
      '# so this repository works. Trusting it means trusting unverified packages: for verified',
      '# content only, use a verify: require repository.',
    ];
  return [
    `# /etc/yum.repos.d/${repository}.repo: dnf/yum through Countersign.`,
    ...keysNote,
    `[${repository}]`,
    `name=${repository} (Countersign mirror)`,
    `baseurl=${repositoryUrl}/`,
    'enabled=1',
    'gpgcheck=1',
    'repo_gpgcheck=1',
    `gpgkey=${repositoryUrl}/repodata/repomd.xml.key`,
    '',
  ].join('\n');
}
