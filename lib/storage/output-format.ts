import fs from 'node:fs';
import { isRecords } from '../app/records.js';
import { InvalidJobSpecError } from '../errors.js';

/**
 * How a job writes its output records (`mr-out-<r>`, `mr-out-m-<m>`), chosen per job:
 *
 * - `text` (the default, the MIT lab's): `key value` per line. A string value is written as is,
 *   any other value as JSON. Simple to read, but not lossless: a key with a space or a newline,
 *   or a value with a newline, cannot be read back.
 * - `tsv`: `key<TAB>value` per line with `\\`, TAB, LF and CR escaped as `\\\\`, `\\t`, `\\n`,
 *   `\\r`, and a lone UTF-16 surrogate as `\\uXXXX`: every key and string value reads back exactly.
 *   A non-string value is written as JSON.
 * - `jsonl`: one JSON object per line, `{"key":...,"value":...}`; values keep their JSON type.
 *
 * Records are written in key order (byte order of the key's UTF-8), and in emit order within a
 * key and in map-only output.
 */
export const OUTPUT_FORMATS = ['text', 'tsv', 'jsonl'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function checkOutputFormat(field: string, value: unknown): OutputFormat {
  if (value === undefined || value === null || value === '') return 'text';
  if (typeof value !== 'string' || !(OUTPUT_FORMATS as readonly string[]).includes(value)) {
    throw new InvalidJobSpecError(`Expected \`${field}\` to be one of ${OUTPUT_FORMATS.join(', ')}, got \`${String(value)}\``);
  }
  return value as OutputFormat;
}

const SPECIAL = /[\\\t\n\r\ud800-\udfff]/;

/** TSV escaping: only what would break a line or a field, plus lone surrogates (UTF-8 cannot hold them). */
export function escapeTsv(s: string): string {
  if (!SPECIAL.test(s)) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x5c) out += '\\\\';
    else if (c === 9) out += '\\t';
    else if (c === 10) out += '\\n';
    else if (c === 13) out += '\\r';
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length && s.charCodeAt(i + 1) >= 0xdc00 && s.charCodeAt(i + 1) < 0xe000) {
      out += s[i]! + s[i + 1]!;
      i++;
    } else if (c >= 0xd800 && c < 0xe000) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += s[i];
  }
  return out;
}

export function unescapeTsv(s: string): string {
  if (!s.includes('\\')) return s;
  return s.replace(/\\(u[0-9a-f]{4}|.)/g, (_, e: string) =>
    e === '\\' ? '\\' : e === 't' ? '\t' : e === 'n' ? '\n' : e === 'r' ? '\r' : e.length === 5 ? String.fromCharCode(parseInt(e.slice(1), 16)) : e,
  );
}

const valueText = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v) ?? 'null');

/** One output line (with its newline) for a record. */
export function formatRecord(format: OutputFormat, key: string, value: unknown): string {
  if (format === 'text') return `${key} ${valueText(value)}\n`;
  if (format === 'tsv') return `${escapeTsv(key)}\t${typeof value === 'string' ? escapeTsv(value) : valueText(value)}\n`;
  return `${JSON.stringify({ key, value })}\n`;
}

/**
 * Reads an output file back as records. `text` splits each line at its first space; `tsv`
 * undoes the escapes (values stay strings: a JSON value reads back as its text); `jsonl`
 * parses each line.
 */
export function readOutputFile(file: string, format: OutputFormat): Array<{ key: string; value: unknown }> {
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.map((line) => {
    if (format === 'jsonl') return JSON.parse(line) as { key: string; value: unknown };
    const sep = line.indexOf(format === 'tsv' ? '\t' : ' ');
    const key = sep === -1 ? line : line.slice(0, sep);
    const value = sep === -1 ? '' : line.slice(sep + 1);
    return format === 'tsv' ? { key: unescapeTsv(key), value: unescapeTsv(value) } : { key, value };
  });
}

/** What `reduce` may return, made into records: see the App contract in lib/app/app.ts. */
export function reduceRecords(key: string, out: unknown, describe: (x: unknown) => string): Array<{ key: string; value: unknown }> {
  if (out === undefined || out === null) return [];
  if (typeof out === 'string') return [{ key, value: out }];
  if (isRecords(out)) return out.records.map((r) => checkRecord(r, key, describe));
  if (typeof out === 'object' && !Array.isArray(out) && typeof (out as Iterable<unknown>)[Symbol.iterator] === 'function') {
    return [...(out as Iterable<unknown>)].map((r) => checkRecord(r, key, describe));
  }
  if (typeof out === 'function' || typeof out === 'symbol' || typeof out === 'bigint') {
    throw new TypeError(`reduce(${JSON.stringify(key)}) returned ${describe(out)}; expected a string, a JSON value, records(...) or nothing`);
  }
  return [{ key, value: out }];
}

function checkRecord(r: unknown, key: string, describe: (x: unknown) => string): { key: string; value: unknown } {
  const kv = r as { key?: unknown; value?: unknown } | null;
  if (typeof kv?.key !== 'string' || kv.value === undefined) {
    throw new TypeError(`reduce(${JSON.stringify(key)}) emitted ${describe(r)}; expected { key: string, value }`);
  }
  return { key: kv.key, value: kv.value };
}
