/**
 * A schema's refusal as the field issues a refusal names (`items.0.quantity: must be at least 1`):
 * the HTTP API's problem documents and the console's pages say the same thing about the same
 * input. Pure: it reads the issues a zod schema gave.
 */
import type { z } from 'zod';
import type { FieldIssue } from './errors.ts';
import { QUOTE_MAX } from './text.ts';

/** Turns zod's issues into field issues with dotted paths (`items.0.quantity`). */
export function fieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.flatMap((issue) => {
    const base = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      // The key is the client's: quote no more of it than of any other value.
      const name = (key: string) => (key.length > QUOTE_MAX ? `${key.slice(0, QUOTE_MAX)}…` : key);
      return issue.keys.map((key) => ({ field: base ? `${base}.${name(key)}` : name(key), message: 'unknown field' }));
    }
    return [{ field: base || '(body)', message: issue.message }];
  });
}
