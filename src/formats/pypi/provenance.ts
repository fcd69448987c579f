/**
 * PEP 740 provenance, passed through: Sigstore attestations are bound to the publisher's identity,
 * so the mirror cannot re-sign them, and it does not check their Sigstore signatures either
 * (clients that care verify them against Sigstore's roots). What it does check is that every
 * attestation is about the file the verified page vouched for: subject name and SHA-256.
 * https://packaging.python.org/en/latest/specifications/index-hosted-attestations/
 * The provenance bytes come from the upstream and are attacker-controlled.
 */
import type { Classified, ObjectRef, UpstreamObject, VerifyContext, VerifyOutcome } from '../types.js';
import { byNamePath } from './check-files.js';
import { locateUnderBase, upstreamOf } from './file-url.js';
import { isObject, type ProjectPage } from './project-page.js';
import { pageUrl } from './upstream-base.js';

export function resolveProvenance(page: ProjectPage, project: string, fileName: string, base: URL, origins: ReadonlySet<string>, index: ObjectRef): Classified {
  const file = page.files.find((f) => f.filename === fileName);
  if (!file?.provenance) return { kind: 'not-found', reason: `the page of ${project} names no provenance for ${fileName}` };
  const located = locateUnderBase(file.provenance, pageUrl(base, project), base, origins);
  const upstreamPath = located.ok ? upstreamOf(located.path, origins) : undefined;
  if (!located.ok || upstreamPath === undefined) return { kind: 'not-found', reason: `the provenance of ${fileName} cannot be fetched through the mirror${located.ok ? '' : `: ${located.reason}`}` };
  return {
    kind: 'object', path: `provenance/${project}/${fileName}`, mutable: true, contentType: 'application/json',
    upstreamPath, requires: [index],
  };
}

export async function verifyProvenance(ctx: VerifyContext, object: UpstreamObject, project: string, anchor: 'first-use' | 'none'): Promise<VerifyOutcome> {
  const fileName = object.path.slice(object.path.lastIndexOf('/') + 1);
  const vouched = ctx.expectations(byNamePath(project, fileName)).filter((e) => e.algorithm === 'sha256');
  if (vouched.length === 0) return { ok: false, code: 'VERIFICATION_FAILED', reason: `no verified page vouches for ${fileName}, so its provenance cannot be matched to it` };
  let doc: unknown;
  try {
    doc = JSON.parse((await object.readAll()).toString('utf8'));
  } catch {
    return { ok: false, code: 'MALFORMED', reason: 'the provenance is not JSON' };
  }
  const statements = attestationStatements(doc);
  if (!statements) return { ok: false, code: 'MALFORMED', reason: 'the provenance is not a PEP 740 provenance object with attestations' };
  for (const statement of statements) {
    const subjects = isObject(statement) && Array.isArray(statement.subject) ? statement.subject : [];
    const matches = subjects.some((s) => isObject(s) && s.name === fileName && isObject(s.digest)
      && vouched.every((e) => typeof (s.digest as Record<string, unknown>).sha256 === 'string' && ((s.digest as Record<string, unknown>).sha256 as string).toLowerCase() === e.digest));
    if (!matches) return { ok: false, code: 'VERIFICATION_FAILED', reason: `an attestation in the provenance of ${fileName} is about another file or digest` };
  }
  return { ok: true, by: vouched.map((e) => `provenance-subject:sha256@${e.source}`), anchor };
}

/** The in-toto statements of every attestation, or undefined when the shape is wrong. */
function attestationStatements(doc: unknown): unknown[] | undefined {
  if (!isObject(doc) || doc.version !== 1 || !Array.isArray(doc.attestation_bundles) || doc.attestation_bundles.length === 0) return undefined;
  const out: unknown[] = [];
  for (const bundle of doc.attestation_bundles) {
    if (!isObject(bundle) || !Array.isArray(bundle.attestations) || bundle.attestations.length === 0) return undefined;
    for (const att of bundle.attestations) {
      if (!isObject(att) || !isObject(att.envelope) || typeof att.envelope.statement !== 'string') return undefined;
      try {
        out.push(JSON.parse(Buffer.from(att.envelope.statement, 'base64').toString('utf8')));
      } catch {
        return undefined;
      }
    }
  }
  return out;
}
