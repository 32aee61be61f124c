/**
 * The layer rules of STYLE.md ("A layout that shows the architecture"), checked on the import
 * graph of src/ (type-only imports included): arrows point inward, and no import cycle.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { importCycles, importGraph, layerViolations, type AllowedViolation, type LayerRule } from './support/import-graph.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const LAYER_RULES: readonly LayerRule[] = [
  { rule: 'domain/ imports nothing of ours but domain/', from: 'src/domain/', forbidden: ['src/'], except: ['src/domain/'] },
  { rule: 'db/ never imports queues/', from: 'src/db/', forbidden: ['src/queues/'] },
  // The relay, which joins the two, sits above both (src/relay/ or one file above db/ and queues/).
  { rule: 'queues/ never imports db/', from: 'src/queues/', forbidden: ['src/db/'] },
  { rule: 'api/ gets the sandbox as a dependency, never imports sandbox/', from: 'src/api/', forbidden: ['src/sandbox/'] },
  // Not even through other modules: `orders show` must not load the HTTP layer.
  { rule: 'cli/ renders without loading api/', from: 'src/cli/', forbidden: ['src/api/', 'src/server.ts'], transitive: true },
  {
    rule: 'metrics.ts defines what it counts without importing processors/',
    from: 'src/metrics.ts',
    forbidden: ['src/processors/'],
  },
];

/** Known violations, each to be removed with the change that ends it. */
const ALLOWED: readonly AllowedViolation[] = [
  {
    from: 'src/queues/relay.ts',
    to: 'src/db/',
    why: 'the outbox relay joins the outbox and the queues; it is to move out of queues/ to src/relay/, above both',
  },
];

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
});
