import type { VerifyMode } from '../types.js';

export interface SwiftSetup {
  repository: string;
  /** Where SwiftPM reaches the repository (HTTPS when the mirror has a listener for it). */
  registryUrl: string;
  /** The repository under `publicUrl`, where the org CA can be fetched. */
  repositoryUrl: string;
  mode: VerifyMode;
  /** SHA-256 fingerprint of the org root, to check what was downloaded. */
  rootFingerprint: string;
}

/**
 * The client side of a Swift repository, served at `/<repo>/-/setup`: SwiftPM's user-level
 * `~/.swiftpm/configuration/registries.json` (SwiftPM Documentation/PackageRegistry/PackageRegistryUsage.md),
 * refusing unsigned packages and certificates that do not chain to the org root, which it
 * downloads as DER (SwiftPM reads every file in trustedRootCertificatesPath as one DER certificate).
 * The same root issued the mirror's HTTPS certificate; URLSession on Linux trusts the system CA
 * bundle only, so the root goes there too.
 */
export function setupText(s: SwiftSetup): string {
  const registries = {
    version: 1,
    registries: { '[default]': { url: `${s.registryUrl}/`, supportsAvailability: false } },
    authentication: {},
    security: {
      default: {
        signing: {
          onUnsigned: 'error',
          onUntrustedCertificate: 'error',
          trustedRootCertificatesPath: '$HOME/.swiftpm/security/trusted-root-certs/countersign',
          includeDefaultTrustedRootCertificates: false,
          validationChecks: { certificateExpiration: 'disabled', certificateRevocation: 'disabled' },
        },
      },
    },
  };
  const warn = s.mode === 'require' ? [] : [
    `# verify: ${s.mode}: releases the upstream did not sign verifiably are signed with a certificate of the`,
    "# organisation's separate *unverified* CA, which is not the root below: SwiftPM refuses them",
    '# (onUntrustedCertificate: error). Only verified releases resolve with this configuration.',
  ];
  return [
    `# Swift packages through Countersign (${s.repository}). SwiftPM wants the registry over HTTPS.`,
    ...warn,
    `# The organisation root (SHA-256 ${s.rootFingerprint}) signs the packages and issued the mirror's`,
    '# HTTPS certificate. Check the fingerprint of what you download: openssl x509 -inform DER -noout -fingerprint -sha256 -in FILE',
    '# 1. The root as DER, for SwiftPM\'s signature checks:',
    'mkdir -p ~/.swiftpm/security/trusted-root-certs/countersign',
    `curl -fsS ${s.repositoryUrl}/-/org-root.cer -o ~/.swiftpm/security/trusted-root-certs/countersign/org-root.cer`,
    '# 2. The root in the system CA bundle, for HTTPS (Debian/Ubuntu, as root):',
    `curl -fsS ${s.repositoryUrl}/-/org-root.cer | openssl x509 -inform DER -out /usr/local/share/ca-certificates/countersign-org-root.crt && update-ca-certificates`,
    '# 3. ~/.swiftpm/configuration/registries.json (the shell fills in $HOME: SwiftPM wants an absolute path):',
    'mkdir -p ~/.swiftpm/configuration',
    'cat > ~/.swiftpm/configuration/registries.json <<JSON',
    JSON.stringify(registries, null, 2),
    'JSON',
    '# 4. Depend on packages by identity, e.g. .package(id: "mona.LinkedList", from: "1.0.0"), then:',
    'swift package resolve',
    '',
  ].join('\n');
}
