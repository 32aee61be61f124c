/**
 * Facts about processes on this machine, by pid: whether one still lives (not a zombie, not a
 * later process that was given the same pid) and what it runs. Linux answers through /proc;
 * elsewhere only "a process with this pid exists" is known.
 */
import { readFileSync } from 'node:fs';

/** The kernel's start time of `pid` (clock ticks since boot), which tells a reused pid apart. */
export function processStartTime(pid: number): string | undefined {
  return procStat(pid)?.[19];
}

/** Whether `pid` runs, and, when `startTime` is given, is still the process that had it then. */
export function processAlive(pid: number, startTime?: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const stat = procStat(pid);
  if (!stat) return true;
  if (stat[0] === 'Z' || stat[0] === 'X') return false;
  return !startTime || stat[19] === startTime;
}

/** The command line of `pid`, joined by spaces, when it can be read. */
export function processCommand(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return undefined;
  }
}

/** /proc/PID/stat from the state field on (field 3 is [0], field 22, the start time, is [19]). */
function procStat(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name in parentheses may itself hold spaces or parentheses.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}
