/** Knobs every bench reads from the environment, with the defaults the figures use. */
export const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
export const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
export const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
/**
 * `BENCH_CORES=all`: every server may use every core (the mirror with a worker per core, nginx
 * with `worker_processes auto`), and so may the load generator: multi-core figures, beside the
 * default single-core ones (server on CPU 0, load generator on CPU 1).
 */
export const ALL_CORES = process.env.BENCH_CORES === 'all';
export const CORES_NOTE = ALL_CORES ? 'all cores (servers and load generator unpinned, the mirror with a worker per core)' : 'one core (servers on CPU 0, load generator on CPU 1)';

/** GETs every path `passes` times, in order, and fails on anything but 200: fills a cache. */
export async function warm(base: string, paths: string[], opts: { passes?: number; accept?: string } = {}): Promise<void> {
  for (let pass = 0; pass < (opts.passes ?? 2); pass++) {
    for (const p of paths) {
      const res = await fetch(`${base}${p}`, opts.accept ? { headers: { accept: opts.accept } } : {});
      const body = await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`warming ${base}${p}: HTTP ${res.status} ${Buffer.from(body).toString('utf8', 0, 300)}`);
    }
  }
}
