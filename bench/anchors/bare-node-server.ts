// The bare anchor's server process: node:http answering files from memory, nothing else.
// argv: <port> <manifest.json>; the manifest maps a pathname to { file, contentType }.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const [port, manifestFile] = process.argv.slice(2);
const manifest = JSON.parse(readFileSync(manifestFile!, 'utf8')) as Record<string, { file: string; contentType: string }>;
const files = new Map(Object.entries(manifest).map(([path, f]) => [path, { body: readFileSync(f.file), type: f.contentType }]));
const server = createServer((req, res) => {
  const f = files.get((req.url ?? '/').split('?')[0]!);
  if (!f) {
    res.writeHead(404);
    res.end();
    return;
  }
  res.writeHead(200, { 'content-type': f.type, 'content-length': f.body.length });
  res.end(f.body);
});
server.keepAliveTimeout = 65_000;
server.listen(Number(port), '127.0.0.1');
