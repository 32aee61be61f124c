/**
 * Starts a private, throwaway PostgreSQL server for tests: a fresh data directory in a temp dir, a
 * free port on 127.0.0.1 (or on a test host's address, the server running inside that host), fsync
 * switched off for speed. Tests get fresh databases on it and can crash it (`kill`), bring it back
 * on the same port and data (`restart`) or make it hang (`freeze`/`thaw`), without ever touching a
 * shared server.
 *
 * PostgreSQL refuses to run as root, so when the tests run as root the server runs as the
 * `postgres` system user (or `nobody` without one), through `setpriv`, which execs in place: the
 * process we spawn is the postmaster itself.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { freePort } from '../../src/redis-server/managed-redis.ts';
import type { Spawner } from './hosts.ts';

export interface PostgresServerOptions {
  /** Addresses to listen on besides 127.0.0.1 (e.g. '0.0.0.0' for a test reached from another host). */
  listen?: string[];
  /** Extra `postgresql.conf` settings, passed as `-c name=value`. */
  settings?: Record<string, string | number>;
  /**
   * The address clients are given (in `url`); it is listened on too. Default 127.0.0.1. With
   * `spawn` from a test network (test/support/hosts.ts), the host's own address.
   */
  host?: string;
  /** Starts the server processes; default `child_process.spawn`. A host's `spawner` runs it in that host. */
  spawn?: Spawner;
}

export interface TestPostgres {
  /** Superuser URL of the `postgres` database. */
  url: string;
  port: number;
  host: string;
  dataDir: string;
  /** Stops the server (fast shutdown) and removes its temp dir. */
  stop(): Promise<void>;
  /** SIGKILLs the postmaster, as a crash would; its backends notice and exit on their own. */
  kill(): Promise<void>;
  /** Starts the server again on the same port and data directory (after `kill` or a clean stop). */
  restart(): Promise<void>;
  /** SIGSTOPs every process of the server (the postmaster and its children): connections stay open and nothing answers. */
  freeze(): void;
  /** SIGCONTs what `freeze` stopped. */
  thaw(): void;
  /** Creates a fresh, empty database and returns its URL. */
  createDatabase(name?: string): Promise<string>;
}

const SUPERUSER = 'postgres';
const HOST = '127.0.0.1';

/** Where initdb, postgres and pg_ctl live: `pg_config --bindir`, else the newest /usr/lib/postgresql/N/bin. */
export function postgresBinDir(): string {
  try {
    const dir = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (existsSync(join(dir, 'initdb'))) return dir;
  } catch {
    // No pg_config on the PATH (Debian ships the server binaries off it): look where Debian puts them.
  }
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions[0] === undefined) {
    throw new Error("PostgreSQL server binaries not found (no initdb): install Debian's postgresql package");
  }
  return join(root, versions[0], 'bin');
}

/** The unprivileged account the server runs as when we are root; undefined when we are not root. */
function serverAccount(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of [SUPERUSER, 'nobody']) {
    const entry = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .map((line) => line.split(':'))
      .find((fields) => fields[0] === name);
    if (entry) return { uid: Number(entry[2]), gid: Number(entry[3]) };
  }
  throw new Error('running as root and no postgres or nobody user to run PostgreSQL as');
}

/** The command that runs `binary` as `account` (in place, keeping the pid), or `binary` itself. */
function command(binary: string, args: string[], account: { uid: number; gid: number } | undefined): [string, string[]] {
  if (!account) return [binary, args];
  return ['setpriv', [`--reuid=${account.uid}`, `--regid=${account.gid}`, '--clear-groups', binary, ...args]];
}

/** Quotes a PostgreSQL identifier. */
function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * Creates a fresh, empty database through the superuser URL `adminUrl` and returns the new
 * database's URL. The name defaults to a random `test_…` one.
 */
export async function createDatabase(adminUrl: string, name = `test_${randomBytes(6).toString('hex')}`): Promise<string> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    // template0 accepts no connections, so concurrent creations never find it busy.
    await client.query(`CREATE DATABASE ${quoteIdentifier(name)} TEMPLATE template0 ENCODING 'UTF8'`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${encodeURIComponent(name)}`;
  return url.toString();
}

/** True when `url` accepts a connection and answers a query within `timeoutMs`. */
async function answers(url: string, timeoutMs: number): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** A process, told apart from a later one with the same pid by its start time. */
interface Proc {
  pid: number;
  started: string;
}

/** The parent pid and start time of `pid`, from /proc; undefined once it is gone. */
function stat(pid: number): { ppid: number; started: string } | undefined {
  try {
    // The command name, in parentheses, may hold spaces: the fields that follow it are fixed.
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), started: fields[19] ?? '' };
  } catch {
    return undefined;
  }
}

/** True while `proc` runs (not a later process that got its pid). */
function alive(proc: Proc): boolean {
  return stat(proc.pid)?.started === proc.started;
}

/** Sends `name` to `proc` if it still runs: never to a later process that got its pid. */
function signal(proc: Proc, name: NodeJS.Signals): void {
  if (!alive(proc)) return;
  try {
    process.kill(proc.pid, name);
  } catch {
    // Gone in the meantime.
  }
}

/**
 * The postmaster and its children. Each child calls setsid(), so the server is not one process
 * group: signalling it whole means signalling each of these.
 */
function serverProcesses(postmaster: number): Proc[] {
  const own = stat(postmaster);
  if (!own) return [];
  const procs: Proc[] = [{ pid: postmaster, started: own.started }];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const child = stat(Number(entry));
    if (child?.ppid === postmaster) procs.push({ pid: Number(entry), started: child.started });
  }
  return procs;
}

/** Waits for every one of `procs` to exit; SIGKILLs what is left after `graceMs`. */
async function allGone(procs: Proc[], graceMs: number): Promise<void> {
  const deadline = Date.now() + graceMs;
  for (;;) {
    const left = procs.filter(alive);
    if (left.length === 0) return;
    if (Date.now() > deadline) for (const proc of left) signal(proc, 'SIGKILL');
    await sleep(10);
  }
}

/** Initialises a data directory and starts a private PostgreSQL server on it. */
export async function startPostgresServer(options: PostgresServerOptions = {}): Promise<TestPostgres> {
  const bin = postgresBinDir();
  const account = serverAccount();
  const baseDir = mkdtempSync(join(tmpdir(), 'order-service-pg-'));
  if (account) chownSync(baseDir, account.uid, account.gid);
  const dataDir = join(baseDir, 'data');
  const logFile = join(baseDir, 'postgres.log');

  const [initdb, initdbArgs] = command(
    join(bin, 'initdb'),
    ['-D', dataDir, '-U', SUPERUSER, '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'],
    account,
  );
  try {
    execFileSync(initdb, initdbArgs, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    rmSync(baseDir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${(error as { stderr?: Buffer }).stderr?.toString().trim() ?? error}`);
  }
  const host = options.host ?? HOST;
  const launcher: Spawner = options.spawn ?? spawn;
  const listen = [...new Set([HOST, host, ...(options.listen ?? [])])];
  // Another host reaches the server only if pg_hba.conf lets it in: trust, as for local connections.
  if (listen.length > 1) await appendFile(join(dataDir, 'pg_hba.conf'), 'host all all all trust\n');
  // 0.0.0.0 or * already cover 127.0.0.1; binding both would fail on the second.
  const wildcard = listen.filter((address) => address === '*' || address === '0.0.0.0' || address === '::');
  const listenAddresses = (wildcard.length > 0 ? wildcard : listen).join(',');

  const port = await freePort();
  const settings: Record<string, string | number> = {
    listen_addresses: listenAddresses,
    port,
    unix_socket_directories: baseDir,
    // A throwaway server: nothing needs to survive a power cut, only a crash of the server (kill), which
    // loses nothing written to the OS. So no fsync; but synchronous_commit stays on, or a kill would
    // lose commits still in the WAL buffers.
    fsync: 'off',
    full_page_writes: 'off',
    // Two test files at a time, each running several processes with a pool.
    max_connections: 300,
    shared_buffers: '32MB',
    jit: 'off',
    ...options.settings,
  };
  const args = ['-D', dataDir, ...Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`])];
  const url = `postgres://${SUPERUSER}@${host}:${port}/postgres`;

  let child: ChildProcess | undefined;
  const launch = async (): Promise<void> => {
    const log = openSync(logFile, 'a');
    const [postgres, postgresArgs] = command(join(bin, 'postgres'), args, account);
    // A session of its own: a Ctrl-C meant for vitest reaches it only through stop().
    const started = launcher(postgres, postgresArgs, { stdio: ['ignore', log, log], detached: true });
    child = started;
    closeSync(log);
    started.unref();
    for (let i = 0; i < 400; i++) {
      if (started.exitCode !== null) {
        const tail = readFileSync(logFile, 'utf8').trim().split('\n').slice(-5).join('\n');
        throw new Error(`postgres on port ${port} exited with ${child.exitCode}:\n${tail}`);
      }
      if (await answers(url, 500)) return;
      await sleep(25);
    }
    throw new Error(`postgres on port ${port} did not answer (log: ${logFile})`);
  };
  // What a freeze stopped, and what a killed postmaster left behind: its children outlive it for a moment.
  let frozen: Proc[] = [];
  let orphans: Proc[] = [];
  const current = () => (child?.pid && child.exitCode === null && child.signalCode === null ? serverProcesses(child.pid) : []);
  const thaw = () => {
    for (const proc of [...frozen, ...current()]) signal(proc, 'SIGCONT');
    frozen = [];
  };
  const shutDown = async (): Promise<void> => {
    thaw();
    const procs = current();
    // The postmaster comes first; SIGINT is PostgreSQL's fast shutdown.
    if (procs[0]) signal(procs[0], 'SIGINT');
    await allGone([...procs, ...orphans], 10_000);
    orphans = [];
  };

  try {
    await launch();
  } catch (error) {
    await allGone(current(), 0);
    rmSync(baseDir, { recursive: true, force: true });
    throw error;
  }

  return {
    url,
    port,
    host,
    dataDir,
    async stop() {
      await shutDown();
      rmSync(baseDir, { recursive: true, force: true });
    },
    async kill() {
      const postmaster = child;
      const [own, ...children] = current();
      if (!postmaster || !own) return;
      orphans = [...orphans, ...children];
      const exited = new Promise((done) => postmaster.once('exit', done));
      signal(own, 'SIGKILL');
      await exited;
    },
    async restart() {
      // After a kill the backends leave on their own once they notice the postmaster is gone (and
      // shutDown waits for them): a new postmaster refuses the data directory while they still hold
      // its shared memory.
      await shutDown();
      await launch();
    },
    freeze() {
      // The postmaster first, so that it forks nothing new while its children are being stopped.
      const [own] = current();
      if (!own) return;
      signal(own, 'SIGSTOP');
      frozen = [...frozen, ...current()];
      for (const proc of frozen) signal(proc, 'SIGSTOP');
    },
    thaw,
    createDatabase(name?: string) {
      return createDatabase(url, name);
    },
  };
}
