/**
 * Values through the shuffle. Apps emit strings, or any JSON-serializable value; the shuffle
 * carries bytes, so a non-string value travels as its JSON text behind a NUL tag, and the rare
 * string that itself begins with NUL gets a second NUL, so both decode exactly:
 *
 *   "abc"      -> abc          (the common case: unchanged, no copy)
 *   "\0abc"    -> \0\0abc
 *   42         -> \0J42
 *   {"a":[1]}  -> \0J{"a":[1]}
 *
 * `reduce` and `combine` get the values back as emitted: strings as strings, the rest parsed.
 */
const NUL = 0;
const J = 0x4a;

export function encodeValue(value: unknown): string {
  if (typeof value === 'string') return value.charCodeAt(0) === NUL ? `\0${value}` : value;
  const json = value === undefined ? undefined : JSON.stringify(value);
  if (json === undefined) throw new TypeError(`value ${String(value)} is not JSON-serializable`);
  return `\0J${json}`;
}

export function decodeValue(s: string): unknown {
  if (s.charCodeAt(0) !== NUL) return s;
  return s.charCodeAt(1) === J ? JSON.parse(s.slice(2)) : s.slice(1);
}

/** Decodes in place when any value needs it; a list of plain strings is returned untouched. */
export function decodeValues(values: string[]): unknown[] {
  let i = 0;
  while (i < values.length && values[i]!.charCodeAt(0) !== NUL) i++;
  if (i === values.length) return values;
  const out: unknown[] = values;
  for (; i < values.length; i++) if (values[i]!.charCodeAt(0) === NUL) out[i] = decodeValue(values[i]!);
  return out;
}
