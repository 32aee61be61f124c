/**
 * The README's configuration tables are made from the configuration schema, where each variable's
 * meaning is written once: they must be what `npm run docs:config` writes now, and every variable
 * the service reads must be in them.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_BLOCK, configTables, README } from '../scripts/config-docs.ts';
import { CONFIG_GROUPS } from '../src/config.ts';

const readme = readFileSync(README, 'utf8');
const documented = (readme.match(CONFIG_BLOCK)?.[0] ?? '').matchAll(/^\| `([A-Z0-9_]+)` \|/gm);

describe('the README configuration tables', () => {
  it('are exactly what the schema generates (npm run docs:config rewrites them)', () => {
    expect(readme.match(CONFIG_BLOCK)?.[0]).toBe(configTables());
  });

  it('list every variable the schema reads, once, with its default', () => {
    const names = CONFIG_GROUPS.flatMap((group) => Object.keys(group.variables));
    expect([...documented].map((m) => m[1])).toEqual(names);
    expect(new Set(names).size).toBe(names.length);
    const tables = configTables();
    expect(tables).toContain('| `PORT` | `3000` | HTTP port of the API (0-65535). |');
    expect(tables).toMatch(/\| `ADMIN_TOKEN` \| generated \|/);
    expect(tables).toMatch(/\| `QUEUE_CONCURRENCY` \| `payment=200,shipping=50,notification=50,refund=50,webhook=20` \|/);
    expect(tables).toMatch(/\| `DATABASE_URL` \| unset \|/);
    expect(tables).toMatch(/\| `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT` \| `OTEL_EXPORTER_OTLP_TIMEOUT` \|/);
  });
});
