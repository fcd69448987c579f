import type { VerifyMode } from '../types.js';

/**
 * The client side of an Alpine repository: key files and repositories line, served at `/<repo>/-/setup`.
 * `keyFileNames`: the primary key's, and in a warn/off repository the unverified key's after it.
 */
export function setupSnippet(repository: string, repositoryUrl: string, keyFileNames: readonly string[], mode: VerifyMode): string {
  const publicUrl = repositoryUrl.slice(0, repositoryUrl.length - repository.length - 1);
  const note = mode === 'require'
    ? []
    : [
      `# verify: ${mode}: what the upstream did not sign verifiably is served too, signed by the`,
      "# organisation's separate *unverified* key (the second file below); without it apk refuses that",
      '# content. Installing it means trusting unverified packages: use a verify: require repository',
      '# for verified content only.',
    ];
  return [
    '# apk through Countersign: indexes and packages are signed by the organisation RSA key,',
    '# which apk finds by its file name in /etc/apk/keys. As root:',
    ...note,
    ...keyFileNames.map((name) => `wget -O /etc/apk/keys/${name} ${publicUrl}/-/keys/${name}`),
    `echo "${repositoryUrl}/<branch>/<repo>" >> /etc/apk/repositories   # e.g. ${repositoryUrl}/v3.20/main`,
    '',
  ].join('\n');
}
