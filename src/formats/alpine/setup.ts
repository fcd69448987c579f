/** The client side of an Alpine repository: key file and repositories line, served at `/<repo>/-/setup`. */
export function setupSnippet(repository: string, repositoryUrl: string, keyFileName: string): string {
  const publicUrl = repositoryUrl.slice(0, repositoryUrl.length - repository.length - 1);
  return [
    '# apk through Countersign: indexes and packages are signed by the organisation RSA key,',
    '# which apk finds by its file name in /etc/apk/keys. As root:',
    `wget -O /etc/apk/keys/${keyFileName} ${publicUrl}/-/keys/${keyFileName}`,
    `echo "${repositoryUrl}/<branch>/<repo>" >> /etc/apk/repositories   # e.g. ${repositoryUrl}/v3.20/main`,
    '',
  ].join('\n');
}
