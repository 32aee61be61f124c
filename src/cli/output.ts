/**
 * How commands print: JSON for scripts (`--json`, one document on stdout), aligned plain-text
 * tables for people. Nothing that came from outside (an order's customer id, a job's failure
 * reason) may drive the operator's terminal: every control or bidirectional-override character
 * the CLI did not write itself leaves as a visible escape.
 */
import { escapeUnsafe } from '../domain/text.ts';

/** JSON.stringify escapes C0 controls; this escapes the rest (DEL, C1, bidi) the JSON way. */
const JSON_UNSAFE = /[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

function safeJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(JSON_UNSAFE, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${safeJson(value)}\n`);
}

/** Prints lines of text; the only control characters written are the newlines between them. */
export function printLines(lines: string[]): void {
  if (lines.length > 0) process.stdout.write(`${lines.map(escapeUnsafe).join('\n')}\n`);
}

/** Left-aligned columns, two spaces apart, with a header row. */
export function table(headers: string[], rows: (string | number)[][]): string[] {
  // Escaped before measuring, so that columns stay aligned.
  const cells = [headers, ...rows.map((row) => row.map((cell) => escapeUnsafe(String(cell))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  return cells.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '));
}

/** A duration the way an operator reads it: 850ms, 12s, 4m, 3h, 2d. */
export function humanDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  const s = ms / 1_000;
  if (s < 60) return `${Math.round(s)}s`;
  if (s < 3_600) return `${Math.round(s / 60)}m`;
  if (s < 86_400) return `${Math.round(s / 3_600)}h`;
  return `${Math.round(s / 86_400)}d`;
}

/** Shortens long text to one table cell. */
export function clip(text: string, max = 60): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}
