/**
 * The benchmark's command line: one usage text, printed by `--help` and after a bad option, and
 * the parser that reads it. bench/run.ts's header describes what is measured; the options are
 * listed here only.
 */
import { parseArgs } from 'node:util';

export const USAGE = `Usage: npm run bench -- [options]

  --rounds N               rounds, each measuring every variant (3)
  --orders N               orders per throughput run (1500)
  --warmup N               orders placed before each measurement, to warm up (300)
  --rate N                 orders/s offered in the latency runs (100)
  --seconds N              length of the latency runs (5)
  --concurrency N          HTTP clients placing orders (32)
  --worker-concurrency N   the service's WORKER_CONCURRENCY (8)
  --slow-share X           share of tok_slow orders in the slow-provider run (0.02; 0 skips it)
  --cap X                  cores per worker process in the capped scale-out runs (0.25; 0 skips them)
  --store S                sqlite, postgres or sqlite,postgres (sqlite)
  --pool-size N            the service's DATABASE_POOL_SIZE (its default, 10)
  --pg-statements          also statements per order and the costliest (pg_stat_statements)
  --baseline REV           also measure the service at git revision REV, in the same rounds
  --webhooks N             also measure this checkout with N webhook endpoints subscribed to every
                           event type, delivering to a receiver in the benchmark's process (0)
  --profile                CPU profiles of every process in bench/profiles/
  --json FILE              write the raw figures to FILE
  --help                   print this and exit
`;

const OPTIONS = {
  rounds: { type: 'string', default: '3' },
  orders: { type: 'string', default: '1500' },
  warmup: { type: 'string', default: '300' },
  rate: { type: 'string', default: '100' },
  seconds: { type: 'string', default: '5' },
  concurrency: { type: 'string', default: '32' },
  'worker-concurrency': { type: 'string', default: '8' },
  'slow-share': { type: 'string', default: '0.02' },
  cap: { type: 'string', default: '0.25' },
  store: { type: 'string', default: 'sqlite' },
  'pool-size': { type: 'string' },
  'pg-statements': { type: 'boolean', default: false },
  baseline: { type: 'string' },
  webhooks: { type: 'string', default: '0' },
  profile: { type: 'boolean', default: false },
  json: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/**
 * The options given, with their defaults. `--help` prints the usage and exits 0; an unknown
 * option, a missing value or a stray argument prints what was wrong and the usage, and exits 2.
 */
export function readOptions(argv: string[] = process.argv.slice(2)) {
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse(argv).values;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  return values;
}

function parse(argv: string[]) {
  return parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false });
}
