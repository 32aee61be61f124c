/**
 * Text hygiene at the door: no string that comes in (a body's values and keys, a path segment, a
 * query parameter) may carry control or bidirectional-override characters (domain/text.ts).
 * Bodies are checked where they are read (api/body.ts), whatever the route, so a field added
 * later is covered without anyone remembering to; paths and queries by one middleware.
 */
import type { MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import { ValidationError, type FieldIssue } from '../domain/errors.ts';
import { QUOTE_MAX, escapeUnsafe, unsafeCharacter } from '../domain/text.ts';

/** A field name fit for a problem document: a key sent to us may itself be long or unsafe. */
function fieldName(path: string): string {
  const clipped = path.length > 2 * QUOTE_MAX ? `${path.slice(0, 2 * QUOTE_MAX)}…` : path;
  return escapeUnsafe(clipped);
}

/**
 * Every string of a parsed JSON value that is unsafe, named by its dotted path. Walks with its own
 * stack: a 64 KiB body can nest thousands of levels deep, more than the call stack takes.
 */
export function unsafeTextIssues(value: unknown, path = ''): FieldIssue[] {
  const issues: FieldIssue[] = [];
  // An entry is a value still to look at, or an issue found on a field name, kept in walk order.
  const pending: ({ value: unknown; at: string } | FieldIssue)[] = [{ value, at: path }];
  while (pending.length > 0) {
    const next = pending.pop()!;
    if ('field' in next) {
      issues.push(next);
      continue;
    }
    const { value: item, at } = next;
    if (typeof item === 'string') {
      const problem = unsafeCharacter(item);
      if (problem) issues.push({ field: fieldName(at || '(body)'), message: problem });
    } else if (Array.isArray(item)) {
      for (let i = item.length - 1; i >= 0; i--) pending.push({ value: item[i], at: at ? `${at}.${i}` : String(i) });
    } else if (item && typeof item === 'object') {
      const entries = Object.entries(item);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i]!;
        const childAt = at ? `${at}.${key}` : key;
        pending.push({ value: child, at: childAt });
        const problem = unsafeCharacter(key);
        // Pushed last, so reported before what the field holds.
        if (problem) pending.push({ field: fieldName(childAt), message: `(the field name) ${problem}` });
      }
    }
  }
  return issues;
}

export function refuseUnsafeIssues(issues: FieldIssue[], where: string): void {
  if (issues.length === 0) return;
  throw new ValidationError(
    `The ${where} ${issues.length === 1 ? 'has an invalid field' : 'has invalid fields'}: ${issues
      .slice(0, 5)
      .map((e) => `${e.field}: ${e.message}`)
      .join('; ')}.`,
    issues,
  );
}

/**
 * Refuses a request whose path segments or query parameters carry unsafe text. A path segment is
 * named by the route's parameter at that place (`id` for /orders/:id), else `path`.
 */
export const refuseUnsafeRequestText: MiddlewareHandler = async (c, next) => {
  const issues: FieldIssue[] = [];
  const segments = c.req.path.split('/');
  const pattern = routePattern(c)?.split('/') ?? [];
  segments.forEach((segment, i) => {
    const problem = unsafeCharacter(decode(segment));
    if (!problem) return;
    const name = pattern[i]?.startsWith(':') ? pattern[i]!.slice(1).replace(/\{.*$/, '') : 'path';
    issues.push({ field: fieldName(name), message: problem });
  });
  for (const [name, values] of Object.entries(c.req.queries())) {
    const nameProblem = unsafeCharacter(name);
    if (nameProblem) issues.push({ field: fieldName(name), message: `(the parameter name) ${nameProblem}` });
    for (const value of values) {
      const problem = unsafeCharacter(value);
      if (problem) issues.push({ field: fieldName(name), message: problem });
    }
  }
  refuseUnsafeIssues(issues, 'request');
  await next();
};

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** The pattern of the route that will answer (`/orders/:id`), when one does. */
function routePattern(c: Parameters<MiddlewareHandler>[0]): string | undefined {
  return matchedRoutes(c)
    .filter((r) => r.method !== 'ALL')
    .at(-1)?.path;
}
