/**
 * What every command shares: the service's own configuration (the same environment variables,
 * with the global flags on top), the database, a Redis connection that fails fast instead of
 * retrying for ever, and the errors that decide the exit code.
 */
import { existsSync } from 'node:fs';
import { Redis } from 'ioredis';
import { ConfigError, loadConfig, type Config } from '../config.ts';
import type { Db } from '../db/client.ts';
// The database and BullMQ are loaded on first use: `--help`, and commands that need neither, start fast.
import type * as OpenModule from '../db/open.ts';
import { DEFAULT_REDIS_URL, safeUrl } from '../queues/connection.ts';
import { managedRedisDir, managedRedisUrl } from '../redis-server/managed-redis.ts';
import type { Queues } from '../queues/queues.ts';

const openModule = (): Promise<typeof OpenModule> => import('../db/open.ts');
const queuesModule = () => import('../queues/queues.ts');

/** Exit codes: documented in docs/cli.md. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** A failure the operator should read as one line on stderr; exits 1 unless told otherwise. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failure,
  ) {
    super(message);
  }
}

export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT.usage);
  }
}

/** The flags every command takes; each overrides its environment variable. */
export interface GlobalOptions {
  redisUrl?: string;
  database?: string;
  queuePrefix?: string;
}

/** Each global flag and the variable it overrides. */
const FLAG_VARIABLES = [
  ['redisUrl', '--redis-url', 'REDIS_URL'],
  ['database', '--database', 'DATABASE_PATH'],
  ['queuePrefix', '--queue-prefix', 'QUEUE_PREFIX'],
] as const;

export function cliConfig(options: GlobalOptions, env: NodeJS.ProcessEnv = process.env): Config {
  const overrides: Record<string, string> = {};
  for (const [key, , variable] of FLAG_VARIABLES) if (options[key] !== undefined) overrides[variable] = options[key];
  try {
    return loadConfig({ ...env, ...overrides });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // A bad flag is bad usage, named as the operator typed it; a bad variable is bad configuration.
    for (const [key, flag, variable] of FLAG_VARIABLES) {
      const complaint = options[key] === undefined ? null : new RegExp(`\\b${variable}: ([^;]*)`).exec(error.message);
      if (complaint) throw new UsageError(`option '${flag}' ${complaint[1]}`);
    }
    throw new CliError(error.message);
  }
}

/** The resources one command run opens, opened on first use and closed together at the end. */
export class Session {
  private database: Db | undefined;
  private redis: Redis | undefined;
  private openQueues: Queues | undefined;

  constructor(readonly config: Config) {}

  /** REDIS_URL; else the managed redis-server `npm start` runs beside the database; else the default. */
  get redisUrl(): string {
    return this.config.redis.redisUrl ?? managedRedisUrl(managedRedisDir(this.config.store)) ?? DEFAULT_REDIS_URL;
  }

  /** The database as an operator names it: its PostgreSQL URL (password hidden) or its file. */
  get databaseName(): string {
    return this.config.store.databaseUrl ? safeUrl(this.config.store.databaseUrl) : this.config.store.databasePath;
  }

  /**
   * The service's database. Only `create` may make a new SQLite file: anything else pointed at a
   * wrong path would otherwise report on an empty database as if all were well.
   */
  async db(options: { create?: boolean } = {}): Promise<Db> {
    if (!this.database) {
      const { databaseUrl: url, databasePath: path } = this.config.store;
      if (!url && !options.create && path !== ':memory:' && !existsSync(path)) {
        throw new CliError(`no database at ${path}: set DATABASE_PATH or pass --database (or DATABASE_URL for PostgreSQL)`);
      }
      const { openDatabase, StoreOpenError } = await openModule();
      try {
        this.database = await openDatabase({ url, path, poolSize: 2 });
      } catch (error) {
        if (error instanceof StoreOpenError) throw new CliError(error.message);
        throw error;
      }
    }
    return this.database;
  }

  async queues(): Promise<Queues> {
    if (!this.openQueues) {
      const { createQueues, queueSettings } = await queuesModule();
      this.openQueues = createQueues(await this.connect(), queueSettings(this.config.jobs));
    }
    return this.openQueues;
  }

  async close(): Promise<void> {
    if (this.openQueues) await (await queuesModule()).closeQueues(this.openQueues);
    if (this.redis) await this.redis.quit().catch(() => this.redis?.disconnect());
    if (this.database) await (await openModule()).closeDatabase(this.database);
  }

  /** The Redis connection of this run. */
  redisConnection(): Promise<Redis> {
    return this.connect();
  }

  /** One attempt, a few seconds at most: an operator wants to hear that Redis is away, now. */
  private async connect(): Promise<Redis> {
    if (this.redis) return this.redis;
    const redis = new Redis(this.redisUrl, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: () => null,
      connectTimeout: 3_000,
      connectionName: 'orders-cli',
    });
    // connect() only says "Connection is closed"; the error event says why.
    let cause: Error | undefined;
    redis.on('error', (error) => (cause ??= error));
    try {
      await redis.connect();
    } catch (error) {
      redis.disconnect();
      throw new CliError(`cannot reach Redis at ${safeUrl(this.redisUrl)}: ${(cause ?? (error as Error)).message}`);
    }
    this.redis = redis;
    return redis;
  }
}
