/**
 * What a client machine needs to pull an oci repository through the mirror and check the org
 * signatures, served at `/<repo>/-/setup` as a commented shell script: the cosign key, docker,
 * containerd (hosts.toml), `cosign verify`, and containers/image (policy.json, registries.d,
 * and registries.conf when signatures also name the upstream's images).
 * containerd: docs/hosts.md; containers/image: containers-policy.json(5), containers-registries.d(5),
 * containers-registries.conf(5); identities: ../shared/specs/formats-pki.md §1.6.
 */

export interface OciSetupInput {
  repository: string;
  /** `publicUrl` + "/" + repository. */
  repositoryUrl: string;
  /** `<publicUrl host>/<repository>`, as the `mirror` identity names it (UpstreamNaming.mirrorRepository). */
  mirrorRepository: string;
  /** trust.signedIdentities as configured: `mirror`, `upstream`, or a literal reference prefix. */
  signedIdentities: readonly string[];
  /** The registry name in `upstream` identities (UpstreamNaming.registry); "" when unknown. */
  upstreamRegistry: string;
  /** `https:` or `http:` of the upstream URL (never the URL: it may carry credentials). */
  upstreamScheme: string | undefined;
  /** The repository's `verify:` mode: under warn/off, what did not verify is signed by the unverified key. */
  verify: 'require' | 'warn' | 'off';
}

/** Where the printed steps keep the key (the directory Fedora uses for sigstore keys). */
export const KEY_FILE = '/etc/pki/containers/countersign.pub';

export function ociClientSetup(input: OciSetupInput): string {
  const publicUrl = input.repositoryUrl.slice(0, input.repositoryUrl.length - input.repository.length - 1);
  const http = new URL(publicUrl).protocol === 'http:';
  const mirrorRepo = input.mirrorRepository;
  const host = mirrorRepo.slice(0, mirrorRepo.length - input.repository.length - 1);
  const prefixes = otherIdentityPrefixes(input);
  const lines = [
    `# Countersign: OCI repository "${input.repository}", pulled as ${mirrorRepo}/<image>:<tag>.`,
    '# Every manifest the mirror serves (an index and each of its children) is signed by the',
    "# organisation's cosign key at the tag sha256-<hex>.sig, once per identity:",
    ...identityLines(input, mirrorRepo),
    ...unverifiedNote(input, publicUrl, http),
    ...(http ? [`# The mirror answers on plain http (${publicUrl}): the steps below allow that for ${host} only.`] : httpsNote(publicUrl, host)),
    '',
    ...keyStep(publicUrl),
    ...dockerStep(mirrorRepo, host, http),
    ...containerdStep(input, publicUrl),
    ...cosignStep(publicUrl, mirrorRepo, http),
    ...policyStep(input, mirrorRepo, host),
    ...prefixes.flatMap((p, i) => upstreamNameStep(6 + i, input.repository, mirrorRepo, p, http)),
  ];
  return `${lines.join('\n').trimEnd()}\n`;
}

function identityLines(input: OciSetupInput, mirrorRepo: string): string[] {
  return input.signedIdentities.map((id) => {
    if (id === 'mirror') return `#   ${mirrorRepo}/<image>  (the name at this mirror)`;
    if (id === 'upstream') return `#   ${input.upstreamRegistry || '<upstream registry>'}/<image>  (the upstream's name)`;
    return `#   ${id}/<image>`;
  });
}

/**
 * Under warn/off the primary key still means verified; everything else is signed by the separately
 * published unverified key, which a client must choose to trust (the steps below use the primary key).
 */
function unverifiedNote(input: OciSetupInput, publicUrl: string, http: boolean): string[] {
  if (input.verify === 'require') return [];
  const what = input.verify === 'off'
    ? 'every manifest (verify: off checks nothing)'
    : "what did not verify (every manifest, unless trust.cosignKeys pins the upstream's cosign keys)";
  return [
    `# This repository has verify: ${input.verify}: ${what} is served signed by the`,
    "# organisation's UNVERIFIED key instead, which the steps below do not trust:",
    `#   ${publicUrl}/-/keys/cosign-unverified.pub`,
    '# To accept such images knowingly, verify them with that key instead of the key of step 1:',
    `#   cosign verify --key ${publicUrl}/-/keys/cosign-unverified.pub --insecure-ignore-tlog=true${http ? ' --allow-insecure-registry' : ''} ${input.mirrorRepository}/<image>:<tag>`,
  ];
}

function httpsNote(publicUrl: string, host: string): string[] {
  return [
    `# If the certificate of ${host} is issued by the organisation CA, trust ${publicUrl}/-/keys/ca.pem`,
    `# (docker: /etc/docker/certs.d/${host}/ca.crt; containers: /etc/containers/certs.d/${host}/ca.crt;`,
    '# containerd: `ca = "<file>"` in the host table; cosign: the system store or SSL_CERT_FILE).',
  ];
}

function keyStep(publicUrl: string): string[] {
  return [
    '# 1. The key, fetched once. Compare it with `countersign keys export ecdsa` on the mirror host:',
    '#    a key fetched from the mirror at every use trusts whoever answers at its address.',
    '#    After a key rotation, fetch it again (new signatures are made by the new key).',
    'install -d -m 0755 /etc/pki/containers',
    `curl -fsSL ${publicUrl}/-/keys/cosign.pub -o ${KEY_FILE}`,
    '',
  ];
}

function dockerStep(mirrorRepo: string, host: string, http: boolean): string[] {
  return [
    '# 2. docker: "registry-mirrors" in daemon.json takes a host without a path and mirrors Docker Hub',
    `#    only, so it cannot point at this repository. Pull through the mirror by name instead:`,
    `#      docker pull ${mirrorRepo}/<image>:<tag>`,
    ...(http ? [
      `#    and allow plain http for it in /etc/docker/daemon.json (then restart dockerd):`,
      `#      { "insecure-registries": ["${host}"] }`,
    ] : []),
    '#    docker does not check cosign signatures: check them with step 4.',
    '',
  ];
}

function containerdStep(input: OciSetupInput, publicUrl: string): string[] {
  const registry = input.upstreamRegistry;
  // containerd also looks for `<host>_<port>_`; `<host>:<port>` is the form its docs show.
  const dir = registry || '<upstream registry>';
  const server = registry ? `${input.upstreamScheme === 'http:' ? 'http' : 'https'}://${registry}` : 'https://<upstream registry>';
  const mirrorApi = `${publicUrl}/v2/${input.repository}`;
  return [
    `# 3. containerd (CRI, nerdctl, ctr --hosts-dir): pull ${registry || '<upstream registry>'}/<image> through this repository.`,
    '#    config.toml must name the hosts directory:',
    '#      containerd 2.x: [plugins."io.containerd.cri.v1.images".registry] config_path = "/etc/containerd/certs.d"',
    '#      containerd 1.x: [plugins."io.containerd.grpc.v1.cri".registry] config_path = "/etc/containerd/certs.d"',
    '#    override_path makes the host\'s path the API root (/v2/<repository>/<image>/…; containerd',
    '#    adds ?ns=<registry>, which the mirror ignores). containerd checks no cosign signatures, and',
    '#    when the mirror fails (or refuses an image that did not verify) it falls back to `server`.',
    `#    To never bypass the mirror, make it the server instead of a host:`,
    `#      server = "${mirrorApi}"  with  capabilities = ["pull", "resolve"] and override_path = true at the top.`,
    `install -d -m 0755 /etc/containerd/certs.d/${dir}`,
    `cat > /etc/containerd/certs.d/${dir}/hosts.toml <<'EOF'`,
    `server = "${server}"`,
    '',
    `[host."${mirrorApi}"]`,
    '  capabilities = ["pull", "resolve"]',
    '  override_path = true',
    'EOF',
    '',
  ];
}

function cosignStep(publicUrl: string, mirrorRepo: string, http: boolean): string[] {
  // The mirror's signatures are in no transparency log, so the tlog check is off; the key is the trust.
  const flags = ['--insecure-ignore-tlog=true', ...(http ? ['--allow-insecure-registry'] : [])].join(' ');
  return [
    '# 4. cosign: check an image by tag or digest (exit status 0: signed by the organisation key).',
    `#    With the key from step 1: --key ${KEY_FILE}`,
    `cosign verify --key ${publicUrl}/-/keys/cosign.pub ${flags} ${mirrorRepo}/<image>:<tag>`,
    '',
  ];
}

function policyStep(input: OciSetupInput, mirrorRepo: string, host: string): string[] {
  const policy = input.signedIdentities.includes('mirror') ? [
    `# 5. podman, skopeo, buildah, CRI-O (containers/image): accept ${mirrorRepo}/<image> only when signed`,
    '#    by the key. matchRepository: the signature names the image as pulled, without a tag.',
    '#    This /etc/containers/policy.json rejects every other image; to keep other registries as they',
    `#    are, copy only the "${mirrorRepo}" entry into the "docker" transport of your policy.`,
    "cat > /etc/containers/policy.json <<'EOF'",
    policyJson({ [mirrorRepo]: [sigstoreSigned()] }),
    'EOF',
  ] : [
    `# 5. podman, skopeo, buildah, CRI-O (containers/image): the signatures do not name ${mirrorRepo}/<image>`,
    '#    (add `mirror` to trust.signedIdentities for that); pull by the names they carry (next step).',
  ];
  return [
    ...policy,
    `#    Signatures are read from sha256-<hex>.sig tags beside the images on ${host}, whatever name`,
    '#    the client asked for (sigstore attachments):',
    'install -d -m 0755 /etc/containers/registries.d',
    "cat > /etc/containers/registries.d/countersign.yaml <<'EOF'",
    'docker:',
    `  ${host}:`,
    '    use-sigstore-attachments: true',
    'EOF',
    '',
  ];
}

/**
 * Clients that keep naming images by another name (the upstream's, or a configured prefix) and
 * reach them through the mirror with a registries.conf mirror entry. The policy is evaluated
 * against the name the client asked for, which these signatures carry: matchRepository fits.
 * (remapIdentity would not: it compares a tagged name exactly, and the signatures name no tag.)
 * The attachments are looked up by the host that served the image (checked with skopeo 1.18):
 * the registries.d file of step 5 covers them, and the upstream itself gets none.
 */
function upstreamNameStep(step: number, repository: string, mirrorRepo: string, prefix: string, http: boolean): string[] {
  const file = `countersign-${repository}-${prefix.replace(/[^a-z0-9.-]+/g, '_')}`;
  return [
    `# ${step}. containers/image clients that pull ${prefix}/<image>: through this mirror, checked against the`,
    `#    signatures naming ${prefix}/<image> (read from the mirror with the registries.d file of step 5).`,
    `#    If the mirror fails they fall back to ${prefix}, which has no such signatures: the policy refuses.`,
    'install -d -m 0755 /etc/containers/registries.conf.d',
    `cat > /etc/containers/registries.conf.d/${file}.conf <<'EOF'`,
    '[[registry]]',
    `prefix = "${prefix}"`,
    `location = "${prefix}"`,
    '',
    '[[registry.mirror]]',
    `location = "${mirrorRepo}"`,
    ...(http ? ['insecure = true'] : []),
    'EOF',
    `#    and in policy.json (as in step 5), in "transports"."docker":`,
    `#      ${JSON.stringify(prefix)}: ${JSON.stringify([sigstoreSigned()])}`,
    '',
  ];
}

/** Reference prefixes other than the mirror's that signatures name, for registries.conf setups. */
function otherIdentityPrefixes(input: OciSetupInput): string[] {
  const out: string[] = [];
  for (const id of input.signedIdentities) {
    const prefix = id === 'mirror' ? undefined : id === 'upstream' ? input.upstreamRegistry || undefined : id;
    if (prefix && !out.includes(prefix)) out.push(prefix);
  }
  return out;
}

function sigstoreSigned(): Record<string, unknown> {
  return { type: 'sigstoreSigned', keyPath: KEY_FILE, signedIdentity: { type: 'matchRepository' } };
}

function policyJson(docker: Record<string, unknown[]>): string {
  return JSON.stringify({ default: [{ type: 'reject' }], transports: { docker } }, null, 2);
}
