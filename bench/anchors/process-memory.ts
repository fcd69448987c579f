/** Memory figures of another process, from /proc/<pid>/status (Linux). */
import { readFileSync } from 'node:fs';

/** A `Vm…: <n> kB` line, in MiB; undefined once the process is gone or off Linux. */
export function vmMiB(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const kb = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? undefined : Math.round(Number(kb) / 102.4) / 10;
  } catch {
    return undefined;
  }
}

/** Peak RSS (VmHWM) summed over processes, e.g. nginx's master and worker. */
export function peakMiB(pids: number[]): number | undefined {
  const peaks = pids.map((p) => vmMiB(p, 'VmHWM')).filter((v): v is number => v !== undefined);
  return peaks.length === 0 ? undefined : Math.round(peaks.reduce((a, b) => a + b, 0) * 10) / 10;
}

/** The children of a process (Linux), e.g. the mirror's workers; none once it is gone. */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** User + system CPU time so far (Linux /proc) of a server's processes (the mirror and its workers), in ms. */
export function cpuMs(server: { pids: number[] }): number {
  let total = 0;
  for (const pid of server.pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      total += (Number(fields[11]) + Number(fields[12])) * 10;
    } catch {
      // Gone (a replaced worker): its time is no longer counted either way.
    }
  }
  return total;
}
