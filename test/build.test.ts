/**
 * The production build: `npm start` and the `orders` bin run the compiled JavaScript in dist/,
 * built first when it is missing or older than the sources, so that the README's two commands stay
 * true; with dist/ fresh, nothing is compiled at start. Run in a copy of the repository, so that
 * the working tree's own dist/ is left alone.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
let copy: string;

beforeAll(() => {
  copy = mkdtempSync(join(tmpdir(), 'orders-build-'));
  for (const part of ['src', 'bin', 'drizzle', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json']) {
    cpSync(join(ROOT, part), join(copy, part), { recursive: true });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
});

afterAll(() => {
  if (copy) rmSync(copy, { recursive: true, force: true });
});

function orders(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['bin/orders.js', ...args], {
    cwd: copy,
    encoding: 'utf8',
    timeout: 170_000,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
  });
}

describe('the production build', () => {
  it('builds dist/ when missing or stale, then runs the compiled CLI, which answers as the sources do', {
    timeout: 180_000,
  }, () => {
    const first = orders(['--help']);
    expect(first.stderr).toBe('dist/ is missing: building it (npm run build)…\n');
    expect(first.status).toBe(0);
    expect(existsSync(join(copy, 'dist', 'cli', 'index.js'))).toBe(true);
    const fromSources = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', '--help'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(first.stdout).toBe(fromSources.stdout);

    // Fresh: nothing to build, nothing said.
    const again = orders(['--help']);
    expect(again.stderr).toBe('');
    expect(again.stdout).toBe(fromSources.stdout);

    // A source changed since the build (here: the build made long before): built again before it runs.
    const long = new Date(Date.now() - 24 * 60 * 60 * 1000);
    utimesSync(join(copy, 'dist', '.built'), long, long);
    expect(orders(['--help'], { ORDERS_LAUNCH: 'dist' })).toMatchObject({
      status: 1,
      stderr: 'dist/ is stale and ORDERS_LAUNCH=dist: run npm run build\n',
    });
    const rebuilt = orders(['--help']);
    expect(rebuilt.stderr).toBe('dist/ is stale: building it (npm run build)…\n');
    expect(rebuilt.status).toBe(0);
  });

  it('starts the service from dist/ with npm start’s command, and stops it cleanly on SIGTERM', {
    timeout: 120_000,
  }, async () => {
    if (!existsSync(join(copy, 'dist', '.built'))) expect(orders(['--help']).status).toBe(0);
    const child = spawn(process.execPath, ['bin/start.js'], {
      cwd: copy,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        PORT: '0',
        REDIS_URL: inject('redisUrl'),
        QUEUE_PREFIX: `build${process.pid}`,
        DATABASE_PATH: join(copy, 'data', 'orders.db'),
        ORDERS_LAUNCH: 'dist',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const port = await new Promise<number>((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        const entry = JSON.parse(line) as { msg?: string; port?: number };
        if (entry.msg?.startsWith('order service listening')) resolve(entry.port!);
      });
      child.once('exit', (code) => reject(new Error(`exited with ${code}: ${stderr}`)));
    });
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toBe('');
  });
});
