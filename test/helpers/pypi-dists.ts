/**
 * Real Python distributions made by the test: wheels written by Python's own zipfile with the
 * wheel layout (dist-info METADATA, WHEEL, RECORD with urlsafe-base64 SHA-256 lines), as
 * `pip wheel` would write them, so pip installs them for real; and an sdist by tarfile.
 * https://packaging.python.org/en/latest/specifications/binary-distribution-format/
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface DistSpec {
  name: string;
  version: string;
  requires?: string[];
  requiresPython?: string;
  /** Body of the package's __init__.py. */
  body?: string;
}

export interface BuiltDist {
  filename: string;
  bytes: Buffer;
  /** The core metadata file (PEP 658 `<file>.metadata`): the wheel's METADATA bytes. */
  metadata: Buffer;
}

const BUILD = String.raw`
import base64, hashlib, io, json, sys, tarfile, zipfile
spec = json.loads(sys.argv[1])
name, version = spec["name"], spec["version"]
dist = name.replace("-", "_")
meta = ["Metadata-Version: 2.1", "Name: " + name, "Version: " + version]
if spec.get("requiresPython"): meta.append("Requires-Python: " + spec["requiresPython"])
meta += ["Requires-Dist: " + r for r in spec.get("requires", [])]
metadata = ("\n".join(meta) + "\n").encode()
info = dist + "-" + version + ".dist-info"
files = {
  dist + "/__init__.py": (spec.get("body") or "VERSION = %r\n" % version).encode(),
  info + "/METADATA": metadata,
  info + "/WHEEL": b"Wheel-Version: 1.0\nGenerator: countersign-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
def digest(b): return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(b).digest()).rstrip(b"=").decode()
record = "".join("%s,%s,%d\n" % (p, digest(b), len(b)) for p, b in files.items()) + info + "/RECORD,,\n"
files[info + "/RECORD"] = record.encode()
out = io.BytesIO()
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
  for p, b in files.items():
    zi = zipfile.ZipInfo(p, date_time=(2020, 1, 1, 0, 0, 0)); zi.compress_type = zipfile.ZIP_DEFLATED; zi.external_attr = 0o644 << 16
    z.writestr(zi, b)
sdist = io.BytesIO()
with tarfile.open(fileobj=sdist, mode="w:gz", format=tarfile.PAX_FORMAT) as t:
  for p, b in {dist + "-" + version + "/PKG-INFO": metadata}.items():
    ti = tarfile.TarInfo(p); ti.size = len(b); ti.mtime = 1577836800; t.addfile(ti, io.BytesIO(b))
json.dump({"wheel": base64.b64encode(out.getvalue()).decode(), "sdist": base64.b64encode(sdist.getvalue()).decode(),
  "metadata": base64.b64encode(metadata).decode(), "dist": dist}, sys.stdout)
`;

/** A pure-Python wheel (py3-none-any) and an sdist of the same release. */
export async function buildDists(spec: DistSpec): Promise<{ wheel: BuiltDist; sdist: BuiltDist }> {
  const { stdout } = await run('python3', ['-c', BUILD, JSON.stringify(spec)], { maxBuffer: 64 * 1024 * 1024 });
  const out = JSON.parse(stdout) as { wheel: string; sdist: string; metadata: string; dist: string };
  const metadata = Buffer.from(out.metadata, 'base64');
  return {
    wheel: { filename: `${out.dist}-${spec.version}-py3-none-any.whl`, bytes: Buffer.from(out.wheel, 'base64'), metadata },
    sdist: { filename: `${out.dist}-${spec.version}.tar.gz`, bytes: Buffer.from(out.sdist, 'base64'), metadata },
  };
}
