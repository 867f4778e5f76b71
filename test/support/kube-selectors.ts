/**
 * The API server's selector and patch languages, for the API server simulation: label selectors
 * (equality- and set-based), field selectors, JSON merge patch (RFC 7386) and JSON patch
 * (RFC 6902).
 */

export type Labels = Record<string, string> | undefined;
export type Selector = (labels: Labels) => boolean;

/** Thrown for a selector or patch the real API server would answer 400 BadRequest. */
export class BadRequest extends Error {}

/**
 * A label selector as the API server parses it: `a=b`, `a==b`, `a!=b`, `a in (x,y)`,
 * `a notin (x,y)`, `a` (exists), `!a` (does not exist), joined by commas.
 */
export function parseLabelSelector(s: string | undefined): Selector {
  const text = (s ?? '').trim();
  if (text === '') return () => true;
  // Split on commas outside parentheses.
  const terms: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      terms.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  terms.push(cur.trim());
  const KEY = '([A-Za-z0-9][-A-Za-z0-9_./]*)';
  const tests = terms.map((t): Selector => {
    let m: RegExpMatchArray | null;
    if ((m = t.match(new RegExp(`^${KEY}\\s+(in|notin)\\s+\\(([^)]*)\\)$`)))) {
      const [, k, op, list] = m as [string, string, string, string];
      const values = new Set(list.split(',').map((v) => v.trim()).filter((v) => v !== ''));
      return op === 'in' ? (l) => l?.[k] !== undefined && values.has(l[k]!) : (l) => l?.[k] === undefined || !values.has(l[k]!);
    }
    if ((m = t.match(new RegExp(`^${KEY}\\s*!=\\s*(.*)$`)))) {
      const [, k, v] = m as [string, string, string];
      return (l) => l?.[k] !== v.trim();
    }
    if ((m = t.match(new RegExp(`^${KEY}\\s*==?\\s*(.*)$`)))) {
      const [, k, v] = m as [string, string, string];
      return (l) => l?.[k] === v.trim();
    }
    if ((m = t.match(new RegExp(`^!\\s*${KEY}$`)))) {
      const k = m[1]!;
      return (l) => l?.[k] === undefined;
    }
    if ((m = t.match(new RegExp(`^${KEY}$`)))) {
      const k = m[1]!;
      return (l) => l?.[k] !== undefined;
    }
    throw new BadRequest(`unable to parse requirement: invalid label selector term ${JSON.stringify(t)}`);
  });
  return (labels) => tests.every((test) => test(labels));
}

/** The value at a dotted field path (`involvedObject.name`, `status.phase`), as a string. */
function fieldValue(obj: unknown, field: string): string {
  let v: unknown = obj;
  for (const part of field.split('.')) v = (v as Record<string, unknown> | undefined)?.[part];
  return v === undefined || v === null ? '' : String(v);
}

/**
 * A field selector: `f=v`, `f==v`, `f!=v`, comma-separated, over the fields a kind supports
 * (anything else is a 400, as on a real server).
 */
export function parseFieldSelector(s: string | undefined, supported: readonly string[]): (obj: unknown) => boolean {
  const text = (s ?? '').trim();
  if (text === '') return () => true;
  const tests = text.split(',').map((t) => {
    const m = t.trim().match(/^([A-Za-z0-9.]+)\s*(!=|==|=)\s*(.*)$/);
    if (!m) throw new BadRequest(`invalid field selector term ${JSON.stringify(t)}`);
    const [, field, op, value] = m as [string, string, string, string];
    if (!supported.includes(field)) throw new BadRequest(`field label not supported: ${field}`);
    return (o: unknown) => (op === '!=' ? fieldValue(o, field) !== value : fieldValue(o, field) === value);
  });
  return (o) => tests.every((t) => t(o));
}

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** RFC 6902 JSON patch (add, remove, replace, test), what client-node sends for a plain patch. */
export function jsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw new BadRequest('a JSON patch must be an array of operations');
  let doc = JSON.parse(JSON.stringify(target ?? {})) as unknown;
  for (const op of ops as { op: string; path: string; value?: unknown }[]) {
    const parts = op.path === '' ? [] : op.path.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    if (parts.length === 0) {
      if (op.op === 'test') {
        if (JSON.stringify(doc) !== JSON.stringify(op.value)) throw new BadRequest('JSON patch test failed');
        continue;
      }
      doc = op.op === 'remove' ? {} : op.value;
      continue;
    }
    let parent = doc as Record<string, unknown> | unknown[];
    for (const p of parts.slice(0, -1)) {
      const next = (parent as Record<string, unknown>)[p];
      if (typeof next !== 'object' || next === null) throw new BadRequest(`JSON patch: no path ${op.path}`);
      parent = next as Record<string, unknown>;
    }
    const last = parts.at(-1)!;
    if (Array.isArray(parent)) {
      const i = last === '-' ? parent.length : Number(last);
      if (op.op === 'add') parent.splice(i, 0, op.value);
      else if (op.op === 'remove') parent.splice(i, 1);
      else if (op.op === 'replace') parent[i] = op.value;
      else if (op.op === 'test' && JSON.stringify(parent[i]) !== JSON.stringify(op.value)) throw new BadRequest('JSON patch test failed');
    } else {
      const rec = parent as Record<string, unknown>;
      if (op.op === 'add' || op.op === 'replace') {
        if (op.op === 'replace' && !(last in rec)) throw new BadRequest(`JSON patch: replace of missing ${op.path}`);
        rec[last] = op.value;
      } else if (op.op === 'remove') {
        if (!(last in rec)) throw new BadRequest(`JSON patch: remove of missing ${op.path}`);
        delete rec[last];
      } else if (op.op === 'test' && JSON.stringify(rec[last]) !== JSON.stringify(op.value)) throw new BadRequest('JSON patch test failed');
    }
  }
  return doc;
}
