/**
 * The lint rules that stand for mistakes made here before: a Promise used as a condition, negated
 * (`if (!findOrder(db, id))`, always false), which Biome's noMisusedPromises does not see and
 * lint/no-negated-promise.grit does. Each rule is shown to catch the mistake and to pass its fix.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * `biome lint` on `source`, in a directory of its own whose configuration is the repository's
 * (its plugins named by absolute path): the exit code and the report.
 */
function lint(source: string): { status: number | null; report: string } {
  const dir = mkdtempSync(join(tmpdir(), 'orders-lint-'));
  try {
    const config = JSON.parse(readFileSync(join(ROOT, 'biome.json'), 'utf8'));
    config.$schema = undefined;
    config.vcs = { enabled: false };
    config.files = { includes: ['**'] };
    config.plugins = (config.plugins as string[]).map((plugin) => join(ROOT, plugin));
    writeFileSync(join(dir, 'biome.json'), JSON.stringify(config));
    writeFileSync(join(dir, 'snippet.ts'), source);
    const run = spawnSync(process.execPath, [join(ROOT, 'node_modules/@biomejs/biome/bin/biome'), 'lint', 'snippet.ts'], {
      cwd: dir,
      encoding: 'utf8',
    });
    return { status: run.status, report: run.stdout + run.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const reader = 'async function findOrder(id: string): Promise<{ id: string } | undefined> {\n  return { id };\n}\n';

describe('npm run lint', () => {
  it('refuses a negated Promise in a condition', () => {
    const { status, report } = lint(
      `${reader}export async function f(id: string) {\n  if (!findOrder(id)) return 404;\n  return 200;\n}\n`,
    );
    expect(status).toBe(1);
    expect(report).toContain('A Promise is negated here');
  });

  it('passes the same condition awaited', () => {
    const { status, report } = lint(
      `${reader}export async function f(id: string) {\n  if (!(await findOrder(id))) return 404;\n  return 200;\n}\n`,
    );
    expect(report).not.toContain('A Promise is negated here');
    expect(status).toBe(0);
  });
});
