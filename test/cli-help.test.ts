/**
 * The operator CLI's usage, run as a real child process: docs/cli.md quotes every --help
 * verbatim, a bad option value exits 2 naming its flag, --mix explains itself, and Redis is
 * found in the order the help gives.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMix } from '../src/cli/load.ts';
import { buildProgram } from '../src/cli/program.ts';
import { positiveInt } from '../src/cli/run.ts';
import { freePort } from '../src/redis-server/managed-redis.ts';
import { CLI_DOC, HELP_BLOCK } from '../scripts/cli-help.ts';
import { runCli } from './support/cli.ts';

const COMMAND_LINES = ['orders', ...buildProgram().commands.map((c) => `orders ${c.name()}`)];

const documented = new Map([...readFileSync(CLI_DOC, 'utf8').matchAll(HELP_BLOCK)].map((m) => [m[1]!, m[2]!]));
const documentedHelp = (line: string) => documented.get(line) ?? '';

describe('docs/cli.md', () => {
  it('quotes the help of the program and of every command, once each', () => {
    expect([...documented.keys()].sort()).toEqual([...COMMAND_LINES].sort());
  });

  it.each(COMMAND_LINES)('quotes `%s --help` exactly as the CLI prints it (npm run docs:cli rewrites it)', async (line) => {
    const run = await runCli([...line.split(' ').slice(1), '--help']);
    expect(run.code).toBe(0);
    expect(documented.get(line)).toBe(run.stdout.endsWith('\n') ? run.stdout : `${run.stdout}\n`);
  });

  it('wraps help at 80 columns, whatever the terminal says its width is', () => {
    const load = buildProgram().commands.find((c) => c.name() === 'load')!;
    load.configureOutput({ getOutHelpWidth: () => 40 });
    const help = load.helpInformation();
    expect(documented.get('orders load')!.startsWith(help)).toBe(true);
    expect(Math.max(...help.split('\n').map((l) => l.length))).toBeLessThanOrEqual(80);
  });
});

describe('a bad option value', () => {
  it('exits 2 and names the flag, for a command option or a global one', async () => {
    const cases: [string[], string][] = [
      [
        ['load', '--count', 'abc'],
        "option '-n, --count <orders>' argument 'abc' is invalid. It must be a whole number of at least 1.",
      ],
      [['load', '--concurrency', '-1'], "option '-c, --concurrency <clients>' argument '-1' is invalid"],
      [['load', '--mix', 'visa:90'], "option '--mix <token=weight,...>' argument 'visa:90' is invalid"],
      [['load', '--mix', 'visa=90,paypal=10'], '"paypal" is not a payment token'],
      [['load', '--url', 'localhost:3000'], "option '--url <url>' argument 'localhost:3000' is invalid"],
      [['failed', '--limit', 'all'], "option '-n, --limit <count>' argument 'all' is invalid"],
      [['--redis-url', 'localhost', 'failed'], "option '--redis-url' must be a redis:// or rediss:// URL"],
    ];
    const runs = await Promise.all(cases.map(([args]) => runCli(args)));
    runs.forEach((run, i) => {
      const [args, message] = cases[i]!;
      expect({ args, code: run.code, stdout: run.stdout }).toEqual({ args, code: 2, stdout: '' });
      expect(run.stderr, args.join(' ')).toContain(message);
    });
  });

  // The same checks, in-process: every whole-number option goes through positiveInt.
  it.each(['abc', '0', '-1', '1.5', '1e3', '', ' ', '9007199254740993'])('positiveInt refuses %j', (value) => {
    expect(() => positiveInt(value)).toThrow(InvalidArgumentError);
  });

  it.each([
    ['1', 1],
    ['32', 32],
  ])('positiveInt takes %j', (value, n) => expect(positiveInt(value)).toBe(n));

  it.each(['visa:90', 'visa=90,paypal=10', 'visa=0,declined=0', 'visa=-1', 'visa=ten', ''])('parseMix refuses %j', (value) => {
    expect(() => parseMix(value)).toThrow(InvalidArgumentError);
  });

  it('parseMix reads aliases, tok_* names, a weight left out as 1, and drops a weight of 0', () => {
    expect(parseMix('visa=90,declined=8,flaky,tok_slow=0,tok_custom=2')).toEqual([
      { token: 'tok_visa', weight: 90 },
      { token: 'tok_chargeDeclined', weight: 8 },
      { token: 'tok_flaky', weight: 1 },
      { token: 'tok_custom', weight: 2 },
    ]);
  });

  it('in an environment variable instead of a flag is bad configuration: exit 1, naming the variable', async () => {
    const run = await runCli(['failed'], { REDIS_URL: 'localhost' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^orders: invalid configuration: REDIS_URL: must be a redis:\/\/ or rediss:\/\/ URL/);
  });
});

describe('--mix', () => {
  it('shows its format, an example, the tokens and its default as written, not as parsed', () => {
    // docs/cli.md quotes `orders load --help` verbatim (checked above).
    const help = documentedHelp('orders load').replace(/\s+/g, ' ');
    expect(help).toContain('--mix <token=weight,...> payment tokens and their shares, e.g. visa=90,declined=8,flaky=2');
    expect(help).toContain('visa, declined, flaky, slow or any tok_*');
    expect(help).toContain('(default: visa=95,declined=5)');
    expect(help).not.toContain('"weight"');
  });
});

describe('where the CLI finds Redis', () => {
  let dir: string;
  const dead: number[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'orders-cli-redis-'));
    // Ports nobody listens on: the error names the URL the CLI chose.
    for (let i = 0; i < 3; i++) dead.push(await freePort());
    // `failed` reads only the queues: the database file need not exist, only its directory.
    mkdirSync(join(dir, 'redis'));
    writeFileSync(join(dir, 'redis', 'redis.url'), `redis://127.0.0.1:${dead[0]}\n`);
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const tried = (stderr: string) => /cannot reach Redis at (\S+):/.exec(stderr)?.[1];

  it('takes the URL `npm start` wrote beside the database when neither flag nor REDIS_URL is given', async () => {
    const run = await runCli(['failed'], { DATABASE_PATH: join(dir, 'orders.db') });
    expect(run.code).toBe(1);
    expect(tried(run.stderr)).toBe(`redis://127.0.0.1:${dead[0]}`);
  });

  it('prefers REDIS_URL to that file, and --redis-url to both', async () => {
    const env = { DATABASE_PATH: join(dir, 'orders.db'), REDIS_URL: `redis://127.0.0.1:${dead[1]}` };
    expect(tried((await runCli(['failed'], env)).stderr)).toBe(`redis://127.0.0.1:${dead[1]}`);
    const flagged = await runCli(['--redis-url', `redis://127.0.0.1:${dead[2]}`, 'failed'], env);
    expect(tried(flagged.stderr)).toBe(`redis://127.0.0.1:${dead[2]}`);
  });
});
