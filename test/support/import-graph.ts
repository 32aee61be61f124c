/**
 * The import graph of a source tree, read by dpdm (type-only imports included: they are
 * dependencies of the design even where the compiler erases them), and the checks the layer test
 * makes on it: every cycle, and every import a layer rule forbids.
 */
import { parseCircular, parseDependencyTree } from 'dpdm';

/** Each file of ours and the files of ours it imports, by path relative to `root`. */
export type ImportGraph = Map<string, string[]>;

/** dpdm's tree of every file under `root`/`under`, with paths relative to `root`. */
function dependencyTree(root: string, under: string) {
  return parseDependencyTree([`${under}/**/*.ts`, `${under}/**/*.tsx`], {
    cwd: root,
    context: root,
    transform: false,
    skipDynamicImports: false,
  });
}

export async function importGraph(root: string, under = 'src'): Promise<ImportGraph> {
  const tree = await dependencyTree(root, under);
  const ours = (id: string | null): id is string => id?.startsWith(`${under}/`) === true;
  const graph: ImportGraph = new Map();
  for (const [file, deps] of Object.entries(tree)) {
    if (!ours(file)) continue;
    graph.set(file, [...new Set((deps ?? []).map((d) => d.id).filter(ours))]);
  }
  return graph;
}

/** Every import cycle, each as the files along it. */
export async function importCycles(root: string, under = 'src'): Promise<string[][]> {
  return parseCircular(await dependencyTree(root, under));
}

/**
 * A layer rule: files under `from` must not import files under any of `forbidden` (a path prefix;
 * `except` lists prefixes of `forbidden` that stay allowed). `transitive` forbids reaching them
 * through other files too.
 */
export interface LayerRule {
  rule: string;
  from: string;
  forbidden: string[];
  except?: string[];
  transitive?: boolean;
}

/** An import a rule forbids but that is known and accepted for now, and why. */
export interface AllowedViolation {
  from: string;
  to: string;
  why: string;
}

export interface Violation {
  rule: string;
  from: string;
  to: string;
}

const under = (file: string, prefix: string) => file === prefix || file.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`);

function reachable(graph: ImportGraph, start: string): Set<string> {
  const seen = new Set<string>();
  const stack = [...(graph.get(start) ?? [])];
  while (stack.length > 0) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    stack.push(...(graph.get(file) ?? []));
  }
  return seen;
}

export function layerViolations(
  graph: ImportGraph,
  rules: readonly LayerRule[],
  allowed: readonly AllowedViolation[] = [],
): Violation[] {
  const violations: Violation[] = [];
  for (const rule of rules) {
    for (const [file, imports] of graph) {
      if (!under(file, rule.from)) continue;
      const targets = rule.transitive ? reachable(graph, file) : new Set(imports);
      for (const to of targets) {
        if (!rule.forbidden.some((p) => under(to, p))) continue;
        if (rule.except?.some((p) => under(to, p))) continue;
        if (allowed.some((a) => under(file, a.from) && under(to, a.to))) continue;
        violations.push({ rule: rule.rule, from: file, to });
      }
    }
  }
  return violations.sort((a, b) => `${a.from}${a.to}`.localeCompare(`${b.from}${b.to}`));
}
