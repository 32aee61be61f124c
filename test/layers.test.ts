/**
 * The layer rules of STYLE.md ("A layout that shows the architecture"), checked on the import
 * graph of src/ (type-only imports included; tests beside their modules left out): arrows point
 * inward, no import cycle between files, none between folders, and no allowance left over.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  folderCycles,
  importCycles,
  importGraph,
  layerViolations,
  staleAllowances,
  type AllowedViolation,
  type LayerRule,
} from './support/import-graph.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const LAYER_RULES: readonly LayerRule[] = [
  { rule: 'domain/ imports nothing of ours but domain/', from: 'src/domain/', forbidden: ['src/'], except: ['src/domain/'] },
  { rule: 'db/ never imports queues/', from: 'src/db/', forbidden: ['src/queues/'] },
  // The relay, which joins the two, sits above both (src/relay/ or one file above db/ and queues/).
  { rule: 'queues/ never imports db/', from: 'src/queues/', forbidden: ['src/db/'] },
  // The sandbox is built on the store and keeps its own tables; a tool that spans both (the copy
  // to PostgreSQL) sits above both, in src/tools/.
  { rule: 'db/ never imports sandbox/', from: 'src/db/', forbidden: ['src/sandbox/'] },
  { rule: 'api/ gets the sandbox as a dependency, never imports sandbox/', from: 'src/api/', forbidden: ['src/sandbox/'] },
  // Not even through other modules: `orders show` must not load the HTTP layer.
  { rule: 'cli/ renders without loading api/', from: 'src/cli/', forbidden: ['src/api/', 'src/server.ts'], transitive: true },
  {
    rule: 'metrics.ts defines what it counts without importing processors/',
    from: 'src/metrics.ts',
    forbidden: ['src/processors/'],
  },
  // The console is HTML beside the API, not a part of it: what both read sits below them.
  {
    rule: 'console/ renders without loading api/',
    from: 'src/console/',
    forbidden: ['src/api/', 'src/server.ts'],
    transitive: true,
  },
  { rule: 'lib/ holds utilities that know nothing of ours', from: 'src/lib/', forbidden: ['src/'], except: ['src/lib/'] },
  // Supervising a local redis-server is the entry points' business, not the queues'.
  { rule: 'queues/ never imports redis-server/', from: 'src/queues/', forbidden: ['src/redis-server/'] },
];

/** Known violations, each to be removed with the change that ends it (none today). */
const ALLOWED: readonly AllowedViolation[] = [];

/** Known cycles between folders, each named with why it is there and removed with the change that ends it (none today). */
const KNOWN_FOLDER_CYCLES: readonly { folders: string[]; why: string }[] = [];

describe('the layer rules', () => {
  it('hold across src/, the known exceptions aside', async () => {
    const graph = await importGraph(ROOT);
    // The graph is the real one: every module, and the imports that join them.
    expect(graph.get('src/server.ts')).toContain('src/api/admin.ts');
    expect(graph.get('src/api/health.ts')).toContain('src/db/client.ts'); // a type-only import
    expect(layerViolations(graph, LAYER_RULES, ALLOWED)).toEqual([]);
  });

  it('leave no import cycle in src/', async () => {
    expect(await importCycles(ROOT)).toEqual([]);
  });

  it('leave no cycle between the folders of src/', async () => {
    const cycles = folderCycles(await importGraph(ROOT));
    const unknown = cycles.filter((c) => !KNOWN_FOLDER_CYCLES.some((k) => k.folders.join() === c.folders.join()));
    expect(unknown).toEqual([]);
    // A known cycle that ended must leave the list with it.
    expect(KNOWN_FOLDER_CYCLES.filter((k) => !cycles.some((c) => c.folders.join() === k.folders.join()))).toEqual([]);
  });

  it('keep no allowance that excuses nothing', async () => {
    expect(staleAllowances(await importGraph(ROOT), LAYER_RULES, ALLOWED)).toEqual([]);
  });

  it('catch a forbidden import and a cycle where there is one', async () => {
    const fixture = fileURLToPath(new URL('fixtures/import-graph/', import.meta.url));
    const graph = await importGraph(fixture);
    expect(graph.size).toBe(3);
    expect(layerViolations(graph, LAYER_RULES)).toEqual([
      { rule: 'domain/ imports nothing of ours but domain/', from: 'src/domain/a.ts', to: 'src/api/route.ts' },
    ]);
    expect(layerViolations(graph, LAYER_RULES, [{ from: 'src/domain/a.ts', to: 'src/api/', why: 'a test' }])).toEqual([]);
    expect((await importCycles(fixture)).map((cycle) => [...cycle].sort())).toEqual([['src/domain/a.ts', 'src/domain/b.ts']]);
  });

  it('catch a cycle between folders that no file cycle shows, and only that one', async () => {
    const fixture = fileURLToPath(new URL('fixtures/folder-cycle/', import.meta.url));
    const graph = await importGraph(fixture);
    // store/rows.ts ← trace/span.ts ← store/write.ts: no file imports itself back.
    expect(await importCycles(fixture)).toEqual([]);
    expect(folderCycles(graph)).toEqual([
      {
        folders: ['src/store/', 'src/trace/'],
        imports: ['src/store/write.ts → src/trace/span.ts', 'src/trace/span.ts → src/store/rows.ts'],
      },
    ]);
    // A file at src/'s root is a unit of its own, and a one-way import is no cycle; tests are not counted.
    expect(graph.has('src/store/write.test.ts')).toBe(false);
    expect(folderCycles(graph).flatMap((c) => c.folders)).not.toContain('src/main.ts');
  });

  it('catch an allowance that excuses nothing', async () => {
    const graph = await importGraph(fileURLToPath(new URL('fixtures/import-graph/', import.meta.url)));
    const live = { from: 'src/domain/a.ts', to: 'src/api/', why: 'a test' };
    const gone = { from: 'src/queues/relay.ts', to: 'src/db/', why: 'a file that is gone' };
    const fixed = { from: 'src/domain/b.ts', to: 'src/api/', why: 'a file that no longer imports it' };
    expect(staleAllowances(graph, LAYER_RULES, [live, gone, fixed])).toEqual([gone, fixed]);
  });
});
