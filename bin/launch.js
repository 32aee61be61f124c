// Runs one of the service's entry points (main.js, cli/index.js) from the compiled JavaScript in
// dist/, building it first when it is missing or older than the sources (`npm run build`), so that
// `npm install && npm start` works from a fresh clone and a production start loads no compiler.
// Where the compiler is not installed (npm ci --omit=dev) and dist/ is missing or stale, it falls
// back to running the TypeScript through tsx, saying so. ORDERS_LAUNCH=tsx forces that fallback,
// ORDERS_LAUNCH=dist forbids building.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** What a build depends on besides src/. */
const BUILD_INPUTS = ['tsconfig.json', 'tsconfig.build.json', 'package-lock.json'];

/** The newest modification time of the build's inputs, in ms. */
export function newestSource(root = ROOT) {
  let newest = 0;
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  // An image ships dist/ without the sources: nothing there can be newer than the build.
  if (existsSync(join(root, 'src'))) walk(join(root, 'src'));
  for (const file of BUILD_INPUTS)
    if (existsSync(join(root, file))) newest = Math.max(newest, statSync(join(root, file)).mtimeMs);
  return newest;
}

/** 'fresh' when dist/ was built after the last change to its inputs, else 'missing' or 'stale'. */
export function buildState(root = ROOT) {
  const stamp = join(root, 'dist', '.built');
  if (!existsSync(stamp)) return 'missing';
  return statSync(stamp).mtimeMs >= newestSource(root) ? 'fresh' : 'stale';
}

/** Compiles src/ into dist/; false when the compiler is not installed. */
export function build(root = ROOT) {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  if (!existsSync(tsc)) return false;
  const started = Date.now();
  const run = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
  if (run.status !== 0) {
    process.stderr.write('the build failed (npm run build): see the errors above\n');
    process.exit(1);
  }
  writeFileSync(join(root, 'dist', '.built'), `${new Date(started).toISOString()}\n`);
  return true;
}

/** Imports `entry` (a path under dist/, e.g. 'main.js') the best way this installation allows. */
export async function launch(entry) {
  const mode = process.env.ORDERS_LAUNCH;
  if (mode !== 'tsx') {
    const state = buildState();
    if (state === 'fresh') return import(pathToFileURL(join(ROOT, 'dist', entry)).href);
    if (mode !== 'dist') {
      process.stderr.write(`dist/ is ${state}: building it (npm run build)…\n`);
      if (build()) return import(pathToFileURL(join(ROOT, 'dist', entry)).href);
    }
    if (mode === 'dist') {
      process.stderr.write(`dist/ is ${state} and ORDERS_LAUNCH=dist: run npm run build\n`);
      process.exit(1);
    }
    process.stderr.write('no TypeScript compiler here (npm ci --omit=dev?): running the sources through tsx\n');
  }
  const { register } = await import('tsx/esm/api');
  register();
  return import(pathToFileURL(join(ROOT, 'src', entry.replace(/\.js$/, '.ts'))).href);
}
