/** The client side of an RPM repository: the .repo file dnf/yum need, served at `/<repo>/-/setup`. */
export function setupSnippet(repository: string, repositoryUrl: string): string {
  return [
    `# /etc/yum.repos.d/${repository}.repo: dnf/yum through Countersign.`,
    '# Packages and repomd.xml are signed by the organisation key published beside the metadata.',
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
