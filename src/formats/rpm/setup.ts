import type { VerifyMode } from '../types.js';
import type { RpmPackagesMode } from './trust.js';

/** The client side of an RPM repository: the .repo file dnf/yum need, served at `/<repo>/-/setup`. */
export function setupSnippet(repository: string, repositoryUrl: string, mode: VerifyMode, packages: RpmPackagesMode = 'resign'): string {
  const keysNote = mode === 'require'
    ? [packages === 'keep'
      ? '# repomd.xml is signed by the organisation key published beside the metadata.'
      : '# Packages and repomd.xml are signed by the organisation key published beside the metadata.']
    : [
      `# verify: ${mode}: what the upstream did not sign verifiably is served too, signed by the`,
      "# organisation's separate *unverified* key; repomd.xml.key holds it beside the primary key,",
      '# so this repository works. Trusting it means trusting unverified packages: for verified',
      '# content only, use a verify: require repository.',
    ];
  // Kept packages carry the upstream's header signature, not the org's: rpm would want the upstream
  // key. What dnf checks instead is the chain the org signed: repomd.xml (repo_gpgcheck) lists
  // primary.xml's checksum, and dnf refuses a package whose checksum differs from primary's.
  const packageCheck = packages === 'keep'
    ? [
      '# packages: keep: packages are the upstream\'s own bytes. dnf checks each against the SHA-256',
      '# in primary.xml, which the org-signed repomd.xml covers (repo_gpgcheck); the mirror checked',
      "# each package's upstream signature before serving it. To have rpm check that signature too,",
      "# set gpgcheck=1 and add the upstream's package key to gpgkey= (space-separated).",
      'gpgcheck=0',
    ]
    : ['gpgcheck=1'];
  return [
    `# /etc/yum.repos.d/${repository}.repo: dnf/yum through Countersign.`,
    ...keysNote,
    `[${repository}]`,
    `name=${repository} (Countersign mirror)`,
    `baseurl=${repositoryUrl}/`,
    'enabled=1',
    ...packageCheck,
    'repo_gpgcheck=1',
    `gpgkey=${repositoryUrl}/repodata/repomd.xml.key`,
    '',
  ].join('\n');
}
