/**
 * A small validator for Kubernetes structural schemas (a CRD's openAPIV3Schema), enough to check
 * custom resources the way the API server would, without one:
 *
 * - `checkStructural(schema)`: the rules the API server applies to the schema itself (every
 *   node has a type, junctors (oneOf/anyOf/allOf/not) carry value validations only, no
 *   `properties` beside `additionalProperties`, defaults that satisfy their own schema);
 * - `applyDefaults(schema, value)`: the API server's defaulting;
 * - `validate(schema, value)`: type, enum, bounds, lengths, pattern, items, required,
 *   oneOf/anyOf/allOf/not, nullable, x-kubernetes-int-or-string, x-kubernetes-preserve-unknown-fields,
 *   and unknown fields rejected as with `kubectl apply` (strict field validation).
 *
 * CEL rules (x-kubernetes-validations) are evaluated for a small subset of CEL only: `self`
 * and its fields (`self.a.b`), `has(self.a)`, string literals, `true`/`false`,
 * `x.startsWith('...')`, `==`, `!=`, `!`, `&&`, `||` and parentheses. Any other rule makes
 * `validate` throw, so a new rule can never be skipped silently.
 */
export interface Schema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  minProperties?: number;
  maxProperties?: number;
  nullable?: boolean;
  default?: unknown;
  oneOf?: Schema[];
  anyOf?: Schema[];
  allOf?: Schema[];
  not?: Schema;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-validations'?: { rule: string; message?: string }[];
  [other: string]: unknown;
}

const show = (v: unknown): string => JSON.stringify(v) ?? String(v);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const join = (at: string, key: string) => (at === '' ? key : `${at}.${key}`);
const label = (at: string) => (at === '' ? '<root>' : at);

/** What the API server would reject in the schema itself; [] when it is structural. */
export function checkStructural(schema: Schema, at = '', inJunctor = false): string[] {
  const errs: string[] = [];
  const here = label(at);
  const junctors: [string, Schema][] = (['oneOf', 'anyOf', 'allOf'] as const).flatMap((j) =>
    (schema[j] ?? []).map((s, i): [string, Schema] => [`${j}[${i}]`, s]),
  );
  if (schema.not) junctors.push(['not', schema.not]);
  if (inJunctor) {
    for (const k of ['type', 'default', 'description', 'nullable', 'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-int-or-string'] as const) {
      if (schema[k] !== undefined) errs.push(`${here}: \`${k}\` is not allowed inside oneOf/anyOf/allOf/not`);
    }
  } else if (schema.type === undefined && !schema['x-kubernetes-int-or-string'] && !schema['x-kubernetes-preserve-unknown-fields']) {
    errs.push(`${here}: must specify a type`);
  }
  if (schema.properties && schema.additionalProperties !== undefined && schema.additionalProperties !== false) {
    errs.push(`${here}: properties and additionalProperties are mutually exclusive`);
  }
  if (schema.properties && schema.type !== undefined && schema.type !== 'object') errs.push(`${here}: properties on a non-object`);
  if (schema.items && schema.type !== undefined && schema.type !== 'array') errs.push(`${here}: items on a non-array`);
  if (schema.type === 'array' && !schema.items && !inJunctor) errs.push(`${here}: an array must specify items`);
  for (const [k, s] of Object.entries(schema.properties ?? {})) errs.push(...checkStructural(s, join(at, k), inJunctor));
  if (schema.items) errs.push(...checkStructural(schema.items, `${at}[]`, inJunctor));
  if (isObject(schema.additionalProperties)) errs.push(...checkStructural(schema.additionalProperties, `${at}.*`, inJunctor));
  for (const [name, s] of junctors) errs.push(...checkStructural(s, `${here}.${name}`, true));
  if (schema.default !== undefined && !inJunctor) {
    const { default: _d, ...withoutDefault } = schema;
    for (const e of validate(withoutDefault, schema.default, `${here}(default)`)) errs.push(`${here}: default is invalid: ${e}`);
  }
  if (schema.pattern !== undefined) {
    try {
      new RegExp(schema.pattern, 'u');
    } catch {
      errs.push(`${here}: pattern ${show(schema.pattern)} does not compile`);
    }
  }
  return errs;
}

/** A copy of `value` with every `default` applied where the field is missing, as the API server does. */
export function applyDefaults(schema: Schema, value: unknown): unknown {
  if (Array.isArray(value) && schema.items) return value.map((v) => applyDefaults(schema.items!, v));
  if (!isObject(value)) return value;
  const out: Record<string, unknown> = { ...value };
  for (const [k, s] of Object.entries(schema.properties ?? {})) {
    if (out[k] === undefined && s.default !== undefined) out[k] = structuredClone(s.default);
    if (out[k] !== undefined) out[k] = applyDefaults(s, out[k]);
  }
  return out;
}

function typeOk(schema: Schema, v: unknown): boolean {
  if (schema['x-kubernetes-int-or-string']) return Number.isInteger(v) || typeof v === 'string';
  switch (schema.type) {
    case undefined:
      return true;
    case 'object':
      return isObject(v);
    case 'array':
      return Array.isArray(v);
    case 'string':
      return typeof v === 'string';
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'boolean':
      return typeof v === 'boolean';
  }
}

/** Evaluates a rule of the CEL subset described at the top against `self`; throws on anything else. */
export function evalCel(rule: string, self: unknown): unknown {
  const toks = (rule.match(/\s+|'(?:[^'\\]|\\.)*'|&&|\|\||==|!=|[()!.,]|[A-Za-z_][A-Za-z0-9_]*|./g) ?? []).filter((t) => !/^\s+$/.test(t));
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`CEL rule ${JSON.stringify(rule)} cannot be evaluated by this validator: ${why}`);
  };
  const peek = () => toks[i];
  const take = (t?: string) => {
    const got = toks[i++];
    if (t !== undefined && got !== t) fail(`expected ${t} at token ${i}, got ${got ?? 'the end'}`);
    return got;
  };
  type Thunk = () => unknown;
  const bool = (v: unknown): boolean => (typeof v === 'boolean' ? v : fail(`expected a bool, got ${JSON.stringify(v)}`));
  // Parsed into thunks, so that `&&` and `||` short-circuit as CEL's do (`!has(self.a) || self.a ...`).
  const path = (probe: boolean): Thunk => {
    take('self');
    const names: string[] = [];
    while (peek() === '.' && toks[i + 1] !== 'startsWith') {
      take('.');
      const name = take() ?? '';
      if (!/^[A-Za-z_]/.test(name)) fail(`a field name after '.', got ${name || 'the end'}`);
      names.push(name);
    }
    return () =>
      names.reduce<unknown>((v, name, n) => {
        if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(`.${name} of a non-object`);
        const got = (v as Record<string, unknown>)[name];
        if (got === undefined && !(probe && n === names.length - 1)) fail(`no such key: ${name}`);
        return got;
      }, self);
  };
  const primary = (): Thunk => {
    const t = peek();
    let v: Thunk;
    if (t === '(') {
      take('(');
      v = or();
      take(')');
    } else if (t === 'has') {
      take('has');
      take('(');
      const p = path(true);
      take(')');
      v = () => p() !== undefined;
    } else if (t === 'self') v = path(false);
    else if (t === 'true' || t === 'false') {
      const b = take() === 'true';
      v = () => b;
    } else if (t?.startsWith("'")) {
      const lit = take()!.slice(1, -1).replace(/\\(.)/g, '$1');
      v = () => lit;
    } else return fail(`unexpected ${t ?? 'end'}`);
    while (peek() === '.') {
      take('.');
      const method = take();
      if (method !== 'startsWith') fail(`unsupported method ${method}`);
      take('(');
      const arg = or();
      take(')');
      const base = v;
      v = () => {
        const [s, a] = [base(), arg()];
        return typeof s === 'string' && typeof a === 'string' ? s.startsWith(a) : fail('startsWith needs strings');
      };
    }
    return v;
  };
  const cmp = (): Thunk => {
    const a = primary();
    if (peek() !== '==' && peek() !== '!=') return a;
    const op = take();
    const b = primary();
    return () => (op === '==' ? a() === b() : a() !== b());
  };
  const unary = (): Thunk => {
    if (peek() !== '!') return cmp();
    take('!');
    const a = unary();
    return () => !bool(a());
  };
  const and = (): Thunk => {
    let v = unary();
    while (peek() === '&&') {
      take('&&');
      const [a, b] = [v, unary()];
      v = () => bool(a()) && bool(b());
    }
    return v;
  };
  function or(): Thunk {
    let v = and();
    while (peek() === '||') {
      take('||');
      const [a, b] = [v, and()];
      v = () => bool(a()) || bool(b());
    }
    return v;
  }
  const top = or();
  if (i !== toks.length) fail(`unexpected ${toks[i]}`);
  return bool(top());
}

/** Error messages (`path: problem, got value`); [] when `value` is valid. */
export function validate(schema: Schema, value: unknown, at = '', inJunctor = false): string[] {
  const here = label(at);
  if (value === null) return schema.nullable ? [] : inJunctor && schema.type === undefined ? [] : [`${here}: must not be null`];
  if (!typeOk(schema, value)) {
    const t = schema['x-kubernetes-int-or-string'] ? 'integer or string' : schema.type;
    return [`${here}: must be of type ${t}, got ${show(value)}`];
  }
  const errs: string[] = [];
  if (schema.enum && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    errs.push(`${here}: must be one of ${schema.enum.map(show).join(', ')}, got ${show(value)}`);
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && (schema.exclusiveMinimum ? value <= schema.minimum : value < schema.minimum)) {
      errs.push(`${here}: must be ${schema.exclusiveMinimum ? '>' : '>='} ${schema.minimum}, got ${value}`);
    }
    if (schema.maximum !== undefined && (schema.exclusiveMaximum ? value >= schema.maximum : value > schema.maximum)) {
      errs.push(`${here}: must be ${schema.exclusiveMaximum ? '<' : '<='} ${schema.maximum}, got ${value}`);
    }
    if (schema.multipleOf !== undefined && value % schema.multipleOf !== 0) errs.push(`${here}: must be a multiple of ${schema.multipleOf}`);
  }
  if (typeof value === 'string') {
    const len = [...value].length;
    if (schema.minLength !== undefined && len < schema.minLength) errs.push(`${here}: must be at least ${schema.minLength} characters, got ${show(value)}`);
    if (schema.maxLength !== undefined && len > schema.maxLength) errs.push(`${here}: must be at most ${schema.maxLength} characters`);
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value)) {
      errs.push(`${here}: must match ${schema.pattern}, got ${show(value)}`);
    }
    if (schema.format === 'date-time' && Number.isNaN(Date.parse(value))) errs.push(`${here}: must be a date-time, got ${show(value)}`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) errs.push(`${here}: must have at least ${schema.minItems} items, got ${value.length}`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems) errs.push(`${here}: must have at most ${schema.maxItems} items, got ${value.length}`);
    if (schema.uniqueItems && new Set(value.map((v) => JSON.stringify(v))).size !== value.length) errs.push(`${here}: items must be unique`);
    if (schema.items) value.forEach((v, i) => errs.push(...validate(schema.items!, v, `${at}[${i}]`, inJunctor)));
  }
  if (isObject(value)) {
    const keys = Object.keys(value);
    if (schema.minProperties !== undefined && keys.length < schema.minProperties) errs.push(`${here}: must have at least ${schema.minProperties} fields`);
    if (schema.maxProperties !== undefined && keys.length > schema.maxProperties) errs.push(`${here}: must have at most ${schema.maxProperties} fields`);
    for (const r of schema.required ?? []) if (value[r] === undefined) errs.push(`${join(at, r)}: Required value`);
    for (const [k, v] of Object.entries(value)) {
      const p = schema.properties?.[k];
      if (p) errs.push(...validate(p, v, join(at, k), inJunctor));
      else if (isObject(schema.additionalProperties)) errs.push(...validate(schema.additionalProperties, v, join(at, k), inJunctor));
      else if (inJunctor || schema['x-kubernetes-preserve-unknown-fields'] || schema.additionalProperties === true) continue;
      else errs.push(`${join(at, k)}: unknown field ${show(k)}`);
    }
    for (const rule of schema['x-kubernetes-validations'] ?? []) {
      if (evalCel(rule.rule, value) !== true) errs.push(`${here}: ${rule.message ?? rule.rule}`);
    }
  }
  for (const s of schema.allOf ?? []) errs.push(...validate(s, value, at, true));
  if (schema.anyOf && !schema.anyOf.some((s) => validate(s, value, at, true).length === 0)) {
    errs.push(`${here}: must match at least one of anyOf`);
  }
  if (schema.oneOf) {
    const matching = schema.oneOf.filter((s) => validate(s, value, at, true).length === 0).length;
    if (matching !== 1) errs.push(`${here}: must match exactly one of oneOf, matched ${matching}`);
  }
  if (schema.not && validate(schema.not, value, at, true).length === 0) errs.push(`${here}: must not match the \`not\` schema`);
  return errs;
}
