/**
 * The README's walk-through, run as written: its shell commands in one bash session against the
 * real service (started with the variables its first command sets), each command's output compared
 * with the sample the README shows after it, ids and times masked. A sample that drifts from what
 * the service answers fails here, not in a newcomer's terminal.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { startServiceProcess, type ServiceProcess } from './support/processes.ts';
import { storeEnv } from './support/store.ts';

const README = fileURLToPath(new URL('../README.md', import.meta.url));

interface Step {
  /** The shell commands of one ```sh block. */
  commands: string;
  /** The ```json / ```text blocks that follow it before the next command, joined: its expected output. */
  expected: string;
}

/** The walk-through section's blocks: the start command, then each step with its sample output. */
function walkThrough(readme: string): { start: string; steps: Step[] } {
  const from = readme.indexOf('\n## Walk-through\n');
  const to = readme.indexOf('\n## ', from + 1);
  const section = readme.slice(from, to);
  const blocks = [...section.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map(([, lang, body]) => ({ lang: lang!, body: body! }));
  const [first, ...rest] = blocks;
  if (first?.lang !== 'sh' || !/npm start\s*$/.test(first.body))
    throw new Error('the walk-through must open with its npm start command');
  const steps: Step[] = [];
  for (const block of rest) {
    if (block.lang === 'sh') steps.push({ commands: block.body, expected: '' });
    else steps.at(-1)!.expected += block.body;
  }
  return { start: first.body, steps };
}

/** The variables the start command sets (`NAME=value … npm start`, over continued lines). */
function startVariables(start: string): Record<string, string> {
  const line = start.replace(/\\\n/g, ' ');
  return Object.fromEntries([...line.matchAll(/\b([A-Z_]+)=(\S+)/g)].map(([, name, value]) => [name!, value!]));
}

/**
 * Messages sent at once (a confirmation and a shipment notice) reach the ledger in either order:
 * a printed ledger is compared with its messages in one order.
 */
function ledgerSorted(text: string): string {
  return text.replace(/^\{\n {2}"messages": \[[\s\S]*?^\}$/gm, (doc) => {
    const { messages } = JSON.parse(doc) as { messages: { kind: string }[] };
    messages.sort((a, b) => a.kind.localeCompare(b.kind));
    return JSON.stringify({ messages }, null, 2);
  });
}

/** What differs from one run to the next: ids, times, charge ids, tracking numbers. */
function masked(text: string): string {
  return ledgerSorted(text.replace(/\r/g, ''))
    .replace(/ord_[0-9A-Z]{26}/g, 'ord_<id>')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, '<time>')
    .replace(/ch_[0-9a-f]{16}/g, 'ch_<id>')
    .replace(/TRK\d+/g, 'TRK<n>');
}

const MARK = '@@walk-through step';

let service: ServiceProcess | undefined;
let dir: string | undefined;

afterAll(async () => {
  await service?.kill('SIGTERM');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the README walk-through', () => {
  it('answers, command by command, what the README shows', async () => {
    const { start, steps } = walkThrough(readFileSync(README, 'utf8'));
    expect(steps.length).toBeGreaterThan(8);
    dir = mkdtempSync(join(tmpdir(), 'orders-readme-'));
    service = await startServiceProcess({
      ...(await storeEnv(dir)),
      ...startVariables(start),
      REDIS_URL: inject('redisUrl'),
      QUEUE_PREFIX: `readme${process.pid}`,
      PORT: '0',
    });
    // The commands as written; only the port is the one this run's service got.
    const script = steps
      .map(
        (step, i) =>
          `echo '${MARK} ${i}'\n${step.commands.replace('BASE=http://localhost:3000', `BASE=http://localhost:${service!.port}`)}`,
      )
      .join('\n');
    const run = spawnSync('bash', ['-e', '-c', script], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const outputs = run.stdout.split(new RegExp(`^${MARK} \\d+\\n`, 'm')).slice(1);
    expect(outputs).toHaveLength(steps.length);
    for (const [i, step] of steps.entries()) {
      expect
        .soft({ step: step.commands, output: masked(outputs[i]!) })
        .toEqual({ step: step.commands, output: masked(step.expected) });
    }
  });
});
