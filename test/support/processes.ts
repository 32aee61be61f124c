/**
 * Runs the service as a real child process (`src/main.ts` under tsx), as an operator would, so a
 * test can SIGKILL or SIGTERM it at will.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { placeOrderOverHttp, putProductOverHttp } from '../../src/cli/load-engine.ts';
import { API_KEY, API_KEYS } from './harness.ts';
import type { Spawner } from './hosts.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface ServiceProcess {
  child: ChildProcess;
  /** The API port, when the role serves HTTP. */
  port: number | undefined;
  /** The operations port of a worker process started with METRICS_PORT. */
  metricsPort: number | undefined;
  /** Every log line the process printed, parsed. */
  logs: Record<string, unknown>[];
  /** What the process wrote to stderr (a crash's stack trace, say). */
  readonly stderr: string;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts `src/main.ts` with the given environment (API_KEYS defaults to the tests' keys) and
 * resolves once it says it is running. `spawn` starts it elsewhere, e.g. inside a test host
 * (test/support/hosts.ts `spawner`).
 */
export async function startServiceProcess(
  env: Record<string, string>,
  timeoutMs = 40_000,
  { spawn: launcher = spawn }: { spawn?: Spawner } = {},
): Promise<ServiceProcess> {
  const child = launcher(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'info', API_KEYS, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  let metricsPort: number | undefined;
  const ready = new Promise<number | undefined>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new Error(
            `service did not start in ${timeoutMs} ms: ${stderr}; last logs: ${logs
              .slice(-5)
              .map((l) => JSON.stringify(l))
              .join(' ')}`,
          ),
        ),
      timeoutMs,
    );
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line);
      } catch {
        return;
      }
      logs.push(entry);
      const msg = String(entry.msg ?? '');
      if (msg.startsWith('order service listening') || msg === 'order workers running') {
        clearTimeout(timer);
        if (typeof entry.metricsPort === 'number') metricsPort = entry.metricsPort;
        resolve(typeof entry.port === 'number' ? entry.port : undefined);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`service exited with ${code} before it was ready: ${stderr}`));
    });
  });
  const port = await ready.catch((error) => {
    child.kill('SIGKILL');
    throw error;
  });
  return {
    child,
    port,
    metricsPort,
    logs,
    get stderr() {
      return stderr;
    },
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = once(child, 'exit');
      child.kill(signal);
      const [code] = await exited;
      return code as number | null;
    },
  };
}

/** Puts a product on sale through a process's admin API; answers the HTTP status. */
export async function putProductOver(
  base: string,
  sku: string,
  stock: number,
  adminToken: string,
  priceCents = 500,
): Promise<number> {
  return (await putProductOverHttp(base, adminToken, { sku, name: `Product ${sku}`, priceCents, stock })).status;
}

/** Places an order through a process's API (with API_KEY); answers the HTTP status and the order id. */
export async function placeOrderOver(
  base: string,
  body: unknown,
  headers: Record<string, string> = {},
  apiKey: string = API_KEY,
): Promise<{ status: number; id: string | undefined }> {
  const { status, id } = await placeOrderOverHttp(base, body, headers, { apiKey });
  return { status, id };
}
