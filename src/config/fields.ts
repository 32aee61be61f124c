/**
 * The kinds of value an environment variable holds, as zod schemas with the one-line refusals the
 * configuration errors print. Shared by config.ts and the OTEL_* part in telemetry/config.ts.
 */
import { z } from 'zod';

export const int = (fallback: number, min = 0) =>
  z.coerce
    .number({ error: 'must be a number' })
    .int({ error: 'must be a whole number' })
    .min(min, { error: `must be at least ${min}` })
    .default(fallback);

/** A whole number of milliseconds with no default here: the caller picks between two variables. */
export const optionalMs = () =>
  z.coerce
    .number({ error: 'must be a number' })
    .int({ error: 'must be a whole number' })
    .min(1, { error: 'must be at least 1' })
    .optional();

export const httpUrl = () => z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional();

/**
 * `key1=value1,key2=value2`, values percent-encoded (the format of OTEL_EXPORTER_OTLP_HEADERS and
 * OTEL_RESOURCE_ATTRIBUTES); parsed into a record.
 */
export const keyValueList = (what: string) =>
  z
    .string()
    .transform((text, ctx) => {
      const pairs: Record<string, string> = {};
      for (const item of text.split(',')) {
        if (item.trim() === '') continue;
        const at = item.indexOf('=');
        const key = at > 0 ? item.slice(0, at).trim() : '';
        let value: string | undefined;
        try {
          value = at > 0 ? decodeURIComponent(item.slice(at + 1).trim()) : undefined;
        } catch {
          value = undefined;
        }
        if (!key || value === undefined) {
          ctx.addIssue({ code: 'custom', message: `must be ${what}` });
          return z.NEVER;
        }
        pairs[key] = value;
      }
      return pairs;
    })
    .optional();

/**
 * What the configuration table says of a variable: its meaning, and what leaving it unset means
 * when that is not a default value of the schema (`generated`, a default another variable gives).
 */
export interface VariableDoc {
  description: string;
  unset?: string;
  /** Never echoed in an error: a wrong secret may be close to the right one. */
  secret?: boolean;
}

/** `schema`, documented: the one place a variable's meaning is written (README's table is made from it). */
export function documented<T extends z.ZodType>(schema: T, doc: VariableDoc): T {
  return schema.meta({ ...doc });
}

/** The documentation `documented` gave a variable's schema. */
export function docOf(schema: z.ZodType): VariableDoc | undefined {
  const meta = schema.meta();
  return typeof meta?.description === 'string' ? (meta as VariableDoc) : undefined;
}
