/**
 * What a client machine needs to use this repository through the mirror: the org key from
 * /-/keys/openpgp.asc and a sources entry with signed-by (deb822 and one-line), served at
 * `/<repo>/-/setup`. apt reads `.asc` keyrings directly (apt ≥ 2.4), no dearmoring needed.
 */
export function clientSetup(args: { repository: string; repositoryUrl: string; keyId: string; suites?: string[]; components?: string[] }): string {
  const keyUrl = new URL('../-/keys/openpgp.asc', `${args.repositoryUrl}/`).toString();
  const keyFile = `/etc/apt/keyrings/countersign-${args.repository}.asc`;
  const suites = args.suites?.join(' ') ?? '<suite>';
  const components = args.components?.join(' ') ?? 'main';
  const first = args.suites?.[0] ?? '<suite>';
  return [
    `# Countersign: Debian repository "${args.repository}", signed by the organisation's OpenPGP key`,
    `# ${args.keyId}`,
    '',
    '# 1. The key (every OpenPGP key of the mirror, active and retired):',
    'install -d -m 0755 /etc/apt/keyrings',
    `curl -fsSL ${keyUrl} -o ${keyFile}`,
    '',
    `# 2. /etc/apt/sources.list.d/${args.repository}.sources`,
    'Types: deb',
    `URIs: ${args.repositoryUrl}`,
    `Suites: ${suites}`,
    `Components: ${components}`,
    `Signed-By: ${keyFile}`,
    '',
    '# or, one-line style, in /etc/apt/sources.list.d/' + `${args.repository}.list:`,
    `# deb [signed-by=${keyFile}] ${args.repositoryUrl} ${first} ${components}`,
    '',
    '# 3. apt-get update',
    '',
  ].join('\n');
}
