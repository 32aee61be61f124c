/**
 * The text rule (domain/text.ts) on its own: which characters are refused, how refused ones are
 * shown, and how much of a value a refusal may quote; and the walker that names every unsafe
 * string of a body by its path.
 */
import { describe, expect, it } from 'vitest';
import { unsafeTextIssues } from '../api/hygiene.ts';
import { escapeUnsafe, quote, unsafeCharacter } from './text.ts';

const code = (n: number) => String.fromCodePoint(n);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('unsafeCharacter', () => {
  it('refuses every C0 control, DEL, every C1 control, the bidi marks, embeddings, overrides and isolates, and the line and paragraph separators', () => {
    const bidiMarks = [0x061c, 0x200e, 0x200f];
    const separators = [0x2028, 0x2029];
    for (const n of [
      ...range(0x00, 0x1f),
      0x7f,
      ...range(0x80, 0x9f),
      ...bidiMarks,
      ...separators,
      ...range(0x202a, 0x202e),
      ...range(0x2066, 0x2069),
    ]) {
      expect(unsafeCharacter(`a${code(n)}b`), n.toString(16)).toContain(`U+${n.toString(16).toUpperCase().padStart(4, '0')}`);
    }
  });

  it('refuses a lone surrogate, and takes a pair', () => {
    expect(unsafeCharacter('a\ud800b')).toMatch(/surrogate/);
    expect(unsafeCharacter('a\udc00')).toMatch(/surrogate/);
    expect(unsafeCharacter('a😀b')).toBeUndefined();
  });

  it('takes the characters around the refused ranges, and text in any script', () => {
    // Zero-width joiners stay: emoji sequences and several scripts need them.
    for (const n of [0x20, 0x7e, 0xa0, 0xe9, 0x061b, 0x061d, 0x200c, 0x200d, 0x2027, 0x202f, 0x2065, 0x206a])
      expect(unsafeCharacter(`a${code(n)}b`), n.toString(16)).toBeUndefined();
    for (const text of ['Zoë Åström', 'Łódź', '東京都', 'القاهرة', 'Ελλάδα', '12 Analytical Row'])
      expect(unsafeCharacter(text)).toBeUndefined();
  });
});

describe('escapeUnsafe and quote', () => {
  it('write refused characters as visible escapes and leave the rest alone', () => {
    expect(escapeUnsafe('a\u001b[2J\u009b\u202eb\ud800')).toBe('a\\u{1b}[2J\\u{9b}\\u{202e}b\ufffd');
    expect(escapeUnsafe('Zoë 東京')).toBe('Zoë 東京');
  });

  it('quote at most 64 characters', () => {
    expect(quote('short')).toBe('"short"');
    expect(quote('x'.repeat(10_000))).toBe(`"${'x'.repeat(64)}…"`);
  });
});

describe('unsafeTextIssues', () => {
  it('names every unsafe string and field name of a body by its path', () => {
    const issues = unsafeTextIssues({
      customerId: 'ok',
      items: [{ sku: 'A' }, { sku: 'B\u0007' }],
      shippingAddress: { name: 'Ada\u202e', city: 'London' },
      'bad\u0000key': 1,
      list: ['fine', '\u0085'],
    });
    expect(issues.map((i) => i.field)).toEqual(['items.1.sku', 'shippingAddress.name', 'bad\\u{0}key', 'list.1']);
    expect(unsafeTextIssues('\u001b')).toEqual([expect.objectContaining({ field: '(body)' })]);
    expect(unsafeTextIssues({ a: 1, b: [true, null, 'x'] })).toEqual([]);
  });
});
