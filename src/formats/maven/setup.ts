/**
 * The client side of a Maven repository, served at `/<repo>/-/setup`: a Maven settings.xml mirror,
 * a Gradle init script, sbt's repositories file, and how to trust the org key in Gradle's
 * dependency verification.
 */
import type { VerifyMode } from '../types.js';
import type { MavenTrust } from './trust.js';

export function setupText(repository: string, repositoryUrl: string, mode: VerifyMode, trust: MavenTrust, orgFingerprint: string | undefined): string {
  const fpr = (orgFingerprint ?? '<fingerprint from /-/keys>').toLowerCase();
  const modeNote = mode === 'require'
    ? ['Every jar, pom and module was verified against the authors\' keys the operator pinned.']
    : [`verify: ${mode}: what did not verify is served too, its org signature made by the separate *unverified* key.`];
  const signatureNote = trust.signatures === 'beside'
    ? [
      `<file>.asc is the author's signature, byte-identical (Gradle's trusted-key entries keep working);`,
      `the organisation's signature of every file is <file>${trust.orgSignatureSuffix}.`,
    ]
    : [
      '<file>.asc holds the author\'s signature and the organisation\'s: trust both keys (or list the',
      'one you do not check as an <ignored-key>), since gpg and Gradle fail on a signature by a key they lack.',
    ];
  return [
    `# Countersign: Maven / Gradle / sbt repository "${repository}"`,
    ...modeNote.map((l) => `# ${l}`),
    ...signatureNote.map((l) => `# ${l}`),
    '# Organisation OpenPGP key: <mirror>/-/keys/openpgp.asc',
    '',
    '## Maven: ~/.m2/settings.xml (use -C / checksumPolicy fail for strict checksums)',
    '<settings>',
    '  <mirrors>',
    '    <mirror>',
    `      <id>${repository}</id>`,
    `      <name>${repository} (Countersign)</name>`,
    `      <url>${repositoryUrl}/</url>`,
    '      <mirrorOf>*</mirrorOf>',
    '    </mirror>',
    '  </mirrors>',
    '</settings>',
    '',
    '## Gradle: ~/.gradle/init.d/countersign.gradle',
    'def countersignUrl = "' + repositoryUrl + '/"',
    'settingsEvaluated { settings ->',
    '  settings.pluginManagement.repositories { clear(); maven { url = countersignUrl } }',
    '}',
    'allprojects {',
    '  buildscript.repositories { clear(); maven { url = countersignUrl } }',
    '  repositories { clear(); maven { url = countersignUrl } }',
    '}',
    '',
    '## Gradle dependency verification (gradle/verification-metadata.xml, inside <configuration>)',
    '<trusted-keys>',
    `  <trusted-key id="${fpr}"/>`,
    '</trusted-keys>',
    '# and add the org key to gradle/verification-keyring.keys:',
    '#   curl <mirror>/-/keys/openpgp.asc >> gradle/verification-keyring.keys',
    '',
    '## sbt: ~/.sbt/repositories (then run sbt -Dsbt.override.build.repos=true)',
    '[repositories]',
    '  local',
    `  ${repository}-ivy: ${repositoryUrl}/, [organization]/[module]/(scala_[scalaVersion]/)(sbt_[sbtVersion]/)[revision]/[type]s/[artifact](-[classifier]).[ext]`,
    `  ${repository}: ${repositoryUrl}/`,
    '',
  ].join('\n');
}
