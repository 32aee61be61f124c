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

/** Tests beside their modules are not part of the design: a test may reach across layers. */
const isTest = (file: string) => /\.test\.tsx?$/.test(file);

export async function importGraph(root: string, under = 'src'): Promise<ImportGraph> {
  const tree = await dependencyTree(root, under);
  const ours = (id: string | null): id is string => id?.startsWith(`${under}/`) === true && !isTest(id);
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
 * The unit a file belongs to in the folder graph: its top folder under `under` (`src/db/`), or the
 * file itself when it sits at the root (`src/relay.ts`).
 */
export function folderOf(file: string, under = 'src'): string {
  const rest = file.slice(under.length + 1);
  const slash = rest.indexOf('/');
  return slash === -1 ? file : `${under}/${rest.slice(0, slash + 1)}`;
}

/** A cycle between folders: the folders that reach each other, and the imports that join them. */
export interface FolderCycle {
  folders: string[];
  imports: string[];
}

/**
 * Every set of folders that import each other, directly or through others (the strongly connected
 * components of the folder graph with more than one folder). A cycle between files is a cycle
 * between folders too, but not the reverse: `db/outbox.ts → telemetry/tracing.ts → db/outbox-row.ts`
 * has no file cycle and still ties the two folders together.
 */
export function folderCycles(graph: ImportGraph, under = 'src'): FolderCycle[] {
  const edges = new Map<string, Set<string>>();
  const imports: [string, string, string][] = [];
  for (const [file, deps] of graph) {
    const from = folderOf(file, under);
    if (!edges.has(from)) edges.set(from, new Set());
    for (const dep of deps) {
      const to = folderOf(dep, under);
      if (to === from) continue;
      edges.get(from)!.add(to);
      imports.push([from, to, `${file} → ${dep}`]);
    }
  }
  // Tarjan's strongly connected components.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (node: string) => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    onStack.add(node);
    for (const next of edges.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) components.push(component.sort());
    }
  };
  for (const node of [...edges.keys()].sort()) if (!index.has(node)) visit(node);
  return components
    .map((folders) => ({
      folders,
      imports: imports
        .filter(([from, to]) => folders.includes(from) && folders.includes(to))
        .map(([, , text]) => text)
        .sort(),
    }))
    .sort((a, b) => a.folders.join().localeCompare(b.folders.join()));
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

/** Allowances that excuse no violation any more (the file moved, or the import is gone): each must go. */
export function staleAllowances(
  graph: ImportGraph,
  rules: readonly LayerRule[],
  allowed: readonly AllowedViolation[],
): AllowedViolation[] {
  const violations = layerViolations(graph, rules);
  return allowed.filter((a) => !violations.some((v) => under(v.from, a.from) && under(v.to, a.to)));
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
