import type { VerifyMode } from '../types.js';

/** The client side of a Python repository, served at `/<repo>/-/setup`: pip.conf, and the pip/uv command lines. */
export function setupSnippet(repository: string, repositoryUrl: string, mode: VerifyMode): string {
  const index = `${repositoryUrl}/simple/`;
  const host = new URL(repositoryUrl).host;
  const plainHttp = repositoryUrl.startsWith('http:');
  const trustNote = mode === 'require'
    ? ['# Every file listed was checked against the hash its project page vouched for (pinned on first use).']
    : [
      `# verify: ${mode}: files are listed even when nothing the operator pinned vouches for them; their`,
      "# .asc signatures are by the organisation's separate *unverified* key.",
    ];
  return [
    `# Python packages through Countersign (repository "${repository}").`,
    ...trustNote,
    '# Each file has a detached OpenPGP signature by the organisation key at <file URL>.asc;',
    `# the key: ${new URL(repositoryUrl).origin}/-/keys/openpgp.asc`,
    'mkdir -p ~/.config/pip',
    "cat > ~/.config/pip/pip.conf <<'EOF'",
    '[global]',
    `index-url = ${index}`,
    ...(plainHttp ? [`trusted-host = ${host}`] : []),
    'EOF',
    '',
    '# Or per command:',
    `pip install --index-url ${index} <package>`,
    `uv pip install --index-url ${index} <package>`,
    '# uv projects (pyproject.toml):',
    '#   [[tool.uv.index]]',
    `#   url = "${index}"`,
    '#   default = true',
    '',
  ].join('\n');
}
