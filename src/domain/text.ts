/**
 * Which characters text from outside may not carry, and how to show text from outside safely.
 *
 * Refused: the C0 controls (U+0000-U+001F, tab and newline included), DEL (U+007F), the C1
 * controls (U+0080-U+009F), the bidirectional marks, embeddings, overrides and isolates
 * (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069), and the line and paragraph separators
 * (U+2028, U+2029). The controls drive terminals (clear the screen, set a window title, colour
 * what follows); the bidi characters reorder what a reader sees ("txt.exe" shown as "exe.txt"),
 * the marks too, next to digits and neutral characters; the separators break a line where a
 * reader expects none (a log line, a console cell). None has a place in a name, an address or an id. A lone UTF-16 surrogate (only a
 * JSON escape can make one) is refused too: it is not text at all.
 */

const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/u;
const UNSAFE_ALL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/gu;
// Without the u flag, so that it sees the halves of surrogate pairs.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** What is wrong with `text`, or undefined when it is fit to store and show. */
export function unsafeCharacter(text: string): string | undefined {
  const found = UNSAFE.exec(text);
  if (found) return `must not contain control or bidirectional-override characters (found ${codePoint(found[0])})`;
  if (new RegExp(LONE_SURROGATE.source).test(text)) return 'must be well-formed Unicode (found a lone surrogate)';
  return undefined;
}

function codePoint(ch: string): string {
  return `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** `text` with every refused character written as a visible `\u{…}` escape. */
export function escapeUnsafe(text: string): string {
  return text.replace(UNSAFE_ALL, (ch) => `\\u{${ch.codePointAt(0)!.toString(16)}}`).replace(LONE_SURROGATE, '\ufffd');
}

/** How much of a value sent to us a refusal may quote back. */
export const QUOTE_MAX = 64;

/**
 * A value sent to us, fit to quote in a refusal: at most its first QUOTE_MAX characters, the
 * refused ones escaped, in double quotes.
 */
export function quote(value: string): string {
  const prefix = value.length > QUOTE_MAX ? `${value.slice(0, QUOTE_MAX)}…` : value;
  return JSON.stringify(escapeUnsafe(prefix));
}
