/**
 * CPU time spent by groups of processes, read from /proc at both ends of a measured window: each
 * group is a set of root pids with every descendant, live or exited. A process that exited inside
 * the window (a PostgreSQL backend, say) is counted through its parent's `cutime`/`cstime`, where
 * the kernel adds a child's whole CPU time once the parent has waited for it; so the sum over a
 * tree of every live member's own and waited-for children's time only ever grows, and its
 * difference across the window is what the tree spent in it.
 *
 * Also the cgroup v1 `cpu` controller: a group with a CPU quota, so that a process can be capped
 * at a fraction of a core (the scale-out measurement needs a worker to be the bottleneck).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Clock ticks per second, the unit of /proc/<pid>/stat's times. */
const TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

interface Stat {
  pid: number;
  ppid: number;
  /** utime + stime + cutime + cstime, in ticks. */
  ticks: number;
}

function readStat(pid: number): Stat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name, in parentheses, may hold spaces: the fields after it are fixed.
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // After the name: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14).
    return { pid, ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) };
  } catch {
    return undefined; // gone meanwhile
  }
}

function allStats(): Stat[] {
  const stats: Stat[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const s = readStat(Number(entry));
    if (s) stats.push(s);
  }
  return stats;
}

/** CPU milliseconds of each group (its roots and all their descendants), at this moment. */
export function cpuMsByGroup(groups: Record<string, readonly number[]>): Record<string, number> {
  const stats = allStats();
  const children = new Map<number, Stat[]>();
  for (const s of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s]);
  const byPid = new Map(stats.map((s) => [s.pid, s]));
  const out: Record<string, number> = {};
  for (const [name, roots] of Object.entries(groups)) {
    let ticks = 0;
    const seen = new Set<number>();
    const stack = roots.map((pid) => byPid.get(pid)).filter((s): s is Stat => s !== undefined);
    while (stack.length > 0) {
      const s = stack.pop()!;
      if (seen.has(s.pid)) continue;
      seen.add(s.pid);
      ticks += s.ticks;
      stack.push(...(children.get(s.pid) ?? []));
    }
    out[name] = (ticks * 1_000) / TICKS;
  }
  return out;
}

/** What each group spent between two readings of `cpuMsByGroup`. */
export function cpuDelta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]));
}

/** This process's own CPU milliseconds (the load generator's). */
export function ownCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1_000;
}

const CGROUP_CPU = '/sys/fs/cgroup/cpu';

/** A cgroup v1 `cpu` group capping its processes at `cores` of CPU; undefined where that cannot be made. */
export interface CpuCap {
  add(pid: number): void;
  remove(): void;
}

export function cpuCapAvailable(): boolean {
  return existsSync(join(CGROUP_CPU, 'cpu.cfs_quota_us')) && process.getuid?.() === 0;
}

export function makeCpuCap(name: string, cores: number): CpuCap {
  const dir = join(CGROUP_CPU, name);
  mkdirSync(dir, { recursive: true });
  const period = Number(readFileSync(join(dir, 'cpu.cfs_period_us'), 'utf8'));
  writeFileSync(join(dir, 'cpu.cfs_quota_us'), String(Math.round(period * cores)));
  return {
    add: (pid) => writeFileSync(join(dir, 'cgroup.procs'), String(pid)),
    remove: () => {
      // A group can go only once empty: whatever is left goes back to the root group first.
      for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
        try {
          writeFileSync(join(CGROUP_CPU, 'cgroup.procs'), pid);
        } catch {
          // exited meanwhile
        }
      }
      try {
        rmdirSync(dir);
      } catch {
        // still busy: left for the next run to reuse
      }
    },
  };
}
