// The load generator, in its own process so it does not share the target's event loop.
// argv: <baseUrl> <connections> <seconds> <accept or ""> <path>...; prints one JSON line.
import autocannon from 'autocannon';

const [url, connections, seconds, accept, ...paths] = process.argv.slice(2);
const headers = accept ? { accept } : undefined;
const result = await autocannon({
  url: url!,
  connections: Number(connections),
  duration: Number(seconds),
  requests: paths.map((path) => ({ method: 'GET', path, ...(headers ? { headers } : {}) })),
});
process.stdout.write(`${JSON.stringify({ rps: result.requests.average, p99: result.latency.p99, errors: result.errors + result.non2xx + result.timeouts, bytesPerRequest: result.requests.average > 0 ? Math.round(result.throughput.average / result.requests.average) : 0 })}\n`);
