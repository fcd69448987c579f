/**
 * Project and file names of the Python simple repository API.
 * https://packaging.python.org/en/latest/specifications/simple-repository-api/ (PEP 503 normalisation)
 * https://packaging.python.org/en/latest/specifications/binary-distribution-format/ (wheel file names)
 * Names arrive from clients and from the upstream: both are attacker-controlled.
 */

/** PEP 503: runs of "-", "_" and "." become one "-", lowercased. */
export function normalizeProject(name: string): string {
  return name.replace(/[-_.]+/g, '-').toLowerCase();
}

/** PEP 508 project names (ASCII letters and digits, inner "-", "_", "."), bounded. */
const PROJECT_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,198}[A-Za-z0-9])?$/;

export function isProjectName(name: string): boolean {
  return PROJECT_NAME.test(name);
}

/**
 * A distribution file name the mirror serves a file under: one path segment, no leading dot,
 * printable ASCII without characters that mean something in a URL or in HTML.
 */
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._+!-]{0,254}$/;
/** Extensions of distributions an index has accepted (wheels and sdists, and the legacy formats). */
const DIST_EXTENSION = /-[^-]*\.(?:whl|tar\.gz|zip|tar\.bz2|tar\.xz|tgz|egg|exe|msi|rpm|dmg|deb)$/;

export function isDistFileName(name: string): boolean {
  return FILE_NAME.test(name) && DIST_EXTENSION.test(name);
}

/** The project a distribution file belongs to, as far as its name says (wheels name it exactly). */
export function fileBelongsTo(fileName: string, project: string): boolean {
  if (fileName.endsWith('.whl')) return normalizeProject(fileName.split('-')[0] ?? '') === project;
  return normalizeProject(fileName).startsWith(`${project}-`);
}
