import type { VerifyMode } from '../types.js';

/**
 * The client side of a Swift repository, served at `/<repo>/-/setup`: SwiftPM's user-level
 * `~/.swiftpm/configuration/registries.json` (SwiftPM Documentation/PackageRegistry/PackageRegistryUsage.md),
 * refusing unsigned packages and certificates that do not chain to the org root, which it
 * downloads as DER (SwiftPM reads every file in trustedRootCertificatesPath as one DER certificate).
 */
export function setupText(repository: string, repositoryUrl: string, mode: VerifyMode): string {
  const registries = {
    version: 1,
    registries: { '[default]': { url: `${repositoryUrl}/`, supportsAvailability: false } },
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
  const warn = mode === 'require' ? [] : [
    `# verify: ${mode}: releases the upstream did not sign verifiably are signed with a certificate of the`,
    "# organisation's separate *unverified* CA, which is not the root below: SwiftPM refuses them",
    '# (onUntrustedCertificate: error). Only verified releases resolve with this configuration.',
  ];
  return [
    `# Swift packages through Countersign (${repository}). SwiftPM wants the registry over HTTPS.`,
    ...warn,
    '# 1. The organisation root certificate, as DER:',
    'mkdir -p ~/.swiftpm/security/trusted-root-certs/countersign',
    `curl -fsS ${repositoryUrl}/-/org-root.cer -o ~/.swiftpm/security/trusted-root-certs/countersign/org-root.cer`,
    '# 2. ~/.swiftpm/configuration/registries.json (the shell fills in $HOME: SwiftPM wants an absolute path):',
    'mkdir -p ~/.swiftpm/configuration',
    "cat > ~/.swiftpm/configuration/registries.json <<JSON",
    JSON.stringify(registries, null, 2),
    'JSON',
    '# 3. Resolve with identities instead of URLs, e.g. .package(id: "mona.LinkedList", from: "1.0.0"):',
    'swift package resolve',
    '',
  ].join('\n');
}
