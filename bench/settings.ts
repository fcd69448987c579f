/** Knobs every bench reads from the environment, with the defaults the figures use. */
export const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
export const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
export const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);

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
