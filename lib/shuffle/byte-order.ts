/**
 * Compares two strings by the byte order of their UTF-8 encodings. JavaScript's `<` compares
 * UTF-16 code units, which agrees with UTF-8 byte order except between a surrogate
 * (U+D800–U+DFFF, i.e. a code point above U+FFFF) and a code unit in U+E000–U+FFFF.
 */
export function compareUtf8(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800) x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
    if (y >= 0xd800) y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    return x - y;
  }
  return a.length - b.length;
}

/** How keys are encoded on disk: their byte order is what sorting must follow. */
export type KeyEncoding = 'utf8' | 'latin1';

const compareNative = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const HAS_SURROGATE = /[\ud800-\udfff]/;

/** The cheapest comparator that is exact for these keys: native when no key has a surrogate. */
export function byteOrderComparator(keys: Iterable<string>, encoding: KeyEncoding): (a: string, b: string) => number {
  if (encoding === 'latin1') return compareNative;
  for (const k of keys) if (HAS_SURROGATE.test(k)) return compareUtf8;
  return compareNative;
}

/**
 * Sorts keys in place by byte order. Without a comparator V8 compares strings natively, several
 * times faster than calling one; that order is byte order unless a key has a surrogate.
 */
export function sortByteOrder(keys: string[], encoding: KeyEncoding): string[] {
  const cmp = byteOrderComparator(keys, encoding);
  return cmp === compareNative ? keys.sort() : keys.sort(cmp);
}
