/**
 * Writes the CLI's own --help output into docs/cli.md, in place of each fenced block that follows
 * a `<!-- help: orders … -->` marker (`npm run docs:cli`). test/cli-help.test.ts fails when the
 * two disagree.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const CLI_DOC = `${ROOT}docs/cli.md`;

/** `<!-- help: orders load -->` then a ```text block: the command line and the block's text. */
export const HELP_BLOCK = /<!-- help: (orders(?: [a-z-]+)*) -->\n```text\n([\s\S]*?)```/g;

export function helpOf(commandLine: string): string {
  const args = [...commandLine.split(' ').slice(1), '--help'];
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', ...args], { cwd: ROOT, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`${commandLine} --help exited ${run.status}: ${run.stderr}`);
  return run.stdout.endsWith('\n') ? run.stdout : `${run.stdout}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const doc = readFileSync(CLI_DOC, 'utf8');
  writeFileSync(
    CLI_DOC,
    doc.replace(HELP_BLOCK, (_, line: string) => `<!-- help: ${line} -->\n\`\`\`text\n${helpOf(line)}\`\`\``),
  );
  console.log(`updated ${CLI_DOC}`);
}
