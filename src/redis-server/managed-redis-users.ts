/**
 * Who owns the managed redis-server: every process of the deployment that uses it, together.
 * Each one registers itself under `users/` beside the data (its pid and start time) and leaves on
 * a graceful stop; the one that leaves last stops the server. A process that dies without leaving
 * is pruned the next time anyone looks, so a server outliving a SIGKILLed owner is adopted by the
 * next process that starts (or cleaned up, when it no longer answers) and stopped by the last one
 * to stop. Starting, adopting and stopping happen under a lock file, so that two processes never
 * start two servers or stop one that the other has just joined.
 */
import { mkdirSync, openSync, closeSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { processAlive, processStartTime } from './local-process.ts';
import { runningManagedRedis, startManagedRedis, stopManagedRedis } from './managed-redis.ts';

const USERS_DIR = 'users';
const LOCK_FILE = 'lock';
const LOCK_WAIT_MS = 30_000;

export interface ManagedRedisUse {
  url: string;
  /** `started`: this process started it; `shared`: others use it too; `adopted`: it outlived its last user. */
  how: 'started' | 'shared' | 'adopted';
  /**
   * Withdraws this process. When no other live process uses the server, it is stopped; answers
   * how many others still use it (0: it was stopped).
   */
  leave(): Promise<number>;
}

/** Registers this process as a user of `dataDir`'s managed redis-server, starting one if none answers. */
export async function useManagedRedis(dataDir: string): Promise<ManagedRedisUse> {
  const dir = resolve(dataDir);
  mkdirSync(join(dir, USERS_DIR), { recursive: true });
  return withLock(dir, async () => {
    const others = liveUsers(dir).filter((pid) => pid !== process.pid);
    register(dir);
    const leave = () => withLock(dir, () => leaveLocked(dir));
    try {
      const running = await runningManagedRedis(dir);
      if (running) return { url: running, how: others.length > 0 ? 'shared' : 'adopted', leave };
      // Whatever is left of an earlier one (a redis-server that stopped answering, stale files) goes.
      await stopManagedRedis(dir);
      const started = await startManagedRedis(dir);
      return { url: started.url, how: 'started', leave };
    } catch (error) {
      rmSync(userFile(dir, process.pid), { force: true });
      throw error;
    }
  });
}

/** The pids of the processes registered as users that still run; the files of dead ones are removed. */
export function liveUsers(dataDir: string): number[] {
  const users = join(resolve(dataDir), USERS_DIR);
  let names: string[];
  try {
    names = readdirSync(users);
  } catch {
    return [];
  }
  const live: number[] = [];
  for (const name of names) {
    const pid = Number(name);
    if (Number.isInteger(pid) && pid > 0 && processAlive(pid, readOrEmpty(join(users, name)) || undefined)) live.push(pid);
    else rmSync(join(users, name), { force: true });
  }
  return live;
}

async function leaveLocked(dir: string): Promise<number> {
  rmSync(userFile(dir, process.pid), { force: true });
  const others = liveUsers(dir).length;
  if (others === 0) await stopManagedRedis(dir);
  return others;
}

function register(dir: string): void {
  const fd = openSync(userFile(dir, process.pid), 'w');
  writeSync(fd, processStartTime(process.pid) ?? '');
  closeSync(fd);
}

function userFile(dir: string, pid: number): string {
  return join(dir, USERS_DIR, String(pid));
}

/**
 * Runs `critical` holding the lock file (created exclusively, holding the holder's pid and start
 * time). A lock whose holder has died is taken over.
 */
async function withLock<T>(dir: string, critical: () => Promise<T>): Promise<T> {
  const lock = join(dir, LOCK_FILE);
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const fd = openSync(lock, 'wx');
      writeSync(fd, `${process.pid} ${processStartTime(process.pid) ?? ''}`);
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const [pid, startTime] = readOrEmpty(lock).split(' ');
      // A lock file still being written reads empty: wait for it like any other.
      if (pid && !processAlive(Number(pid), startTime || undefined)) {
        rmSync(lock, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`the managed redis-server's lock ${lock} is held by process ${pid}`);
      await sleep(50);
    }
  }
  try {
    return await critical();
  } finally {
    rmSync(lock, { force: true });
  }
}

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}
