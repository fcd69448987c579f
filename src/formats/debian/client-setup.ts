/**
 * What a client machine needs to use this repository through the mirror: the org key(s) from
 * /-/keys/ and a sources entry with signed-by (deb822 and one-line), served at `/<repo>/-/setup`.
 * apt reads `.asc` keyrings directly (apt ≥ 2.4), no dearmoring needed.
 *
 * Which keys: a `require` repository serves only Releases that verified, signed by the primary
 * org key, so its entry trusts that key alone. A `warn`/`off` repository also serves Releases
 * that did not verify, signed by the separately published *unverified* key; a client that
 * should take them needs that key too, and the snippet says so, since trusting it means trusting
 * whatever the upstream sent.
 */
import type { PublicKeyInfo } from '../../keys/types.js';
import type { VerifyMode } from '../types.js';

export interface ClientSetupArgs {
  repository: string;
  repositoryUrl: string;
  mode: VerifyMode;
  /** The mirror's public keys (OrgPublicKeys.list()). */
  keys: PublicKeyInfo[];
  suites?: string[];
  components?: string[];
}

interface KeyFile {
  url: string;
  file: string;
  id: string;
}

export function clientSetup(args: ClientSetupArgs): string {
  const primary = keyFile(args, 'primary', `/etc/apt/keyrings/countersign-${args.repository}.asc`);
  const unverified = args.mode === 'require' ? undefined : keyFile(args, 'unverified', `/etc/apt/keyrings/countersign-${args.repository}-unverified.asc`);
  const files = unverified ? [primary, unverified] : [primary];
  const suites = args.suites?.join(' ') ?? '<suite>';
  const components = args.components?.join(' ') ?? 'main';
  const first = args.suites?.[0] ?? '<suite>';
  const why = unverified
    ? [
        `# This repository has verify: ${args.mode}: what verified is signed by the organisation's primary key,`,
        '# what did not verify (or was not checked) by its separately published unverified key.',
        '# Trusting the unverified key means trusting whatever the upstream sent; leave it (and its',
        '# keyring below) out to take only what verified, and apt will refuse the rest.',
        `# primary:    ${primary.id}`,
        `# unverified: ${unverified.id}`,
      ]
    : [
        '# This repository has verify: require: everything it serves verified and is signed by the',
        "# organisation's primary key; no other key is needed.",
        `# ${primary.id}`,
      ];
  return [
    `# Countersign: Debian repository "${args.repository}", signed by the organisation's OpenPGP key`,
    ...why,
    '',
    `# 1. The key${files.length > 1 ? 's' : ''} (every OpenPGP key of the role, active and retired):`,
    'install -d -m 0755 /etc/apt/keyrings',
    ...files.map((k) => `curl -fsSL ${k.url} -o ${k.file}`),
    '',
    `# 2. /etc/apt/sources.list.d/${args.repository}.sources`,
    'Types: deb',
    `URIs: ${args.repositoryUrl}`,
    `Suites: ${suites}`,
    `Components: ${components}`,
    `Signed-By: ${files.map((k) => k.file).join(' ')}`,
    '',
    '# or, one-line style, in /etc/apt/sources.list.d/' + `${args.repository}.list:`,
    `# deb [signed-by=${files.map((k) => k.file).join(',')}] ${args.repositoryUrl} ${first} ${components}`,
    '',
    '# 3. apt-get update',
    '',
  ].join('\n');
}

/** The role's active OpenPGP key, downloaded from where the mirror publishes it. */
function keyFile(args: ClientSetupArgs, role: 'primary' | 'unverified', file: string): KeyFile {
  const kind = role === 'primary' ? 'openpgp' : 'openpgp-unverified';
  const key = args.keys.find((k) => k.kind === kind && k.role === role && k.status === 'active');
  const download = key?.downloadUrl ?? (role === 'primary' ? '/-/keys/openpgp.asc' : '/-/keys/openpgp-unverified.asc');
  // downloadUrl is absolute on the mirror ("/-/keys/…"); repositoryUrl is `publicUrl/<repo>`.
  const url = new URL(`..${download}`, `${args.repositoryUrl}/`).toString();
  return { url, file, id: key?.id ?? '(no active key)' };
}
