/**
 * The floor plan, checked: every import of every module under lib/ is parsed (with the
 * TypeScript-aware parser vitest's bundler ships, so `import type`, `export ... from` and
 * dynamic `import()` are all seen) and the rules the folders promise are enforced.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAst } from 'rolldown/parseAst';
import { describe, expect, it } from 'vitest';

const LIB = path.dirname(fileURLToPath(import.meta.url));
const rel = (abs: string): string => path.relative(LIB, abs).split(path.sep).join('/');

interface Edge {
  from: string;
  /** lib-relative path of the imported module, or the bare specifier for packages and node: builtins. */
  to: string;
  /** Erased at runtime: `import type`, `export type`, or only `type` specifiers. */
  typeOnly: boolean;
  dynamic: boolean;
}

function modules(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    if (d.isDirectory()) return modules(p);
    return d.name.endsWith('.ts') && !d.name.endsWith('.test.ts') && !d.name.endsWith('.d.ts') ? [p] : [];
  });
}

function resolve(from: string, spec: string): string {
  if (!spec.startsWith('.')) return spec;
  const abs = path.resolve(path.dirname(from), spec).replace(/\.js$/, '.ts');
  return rel(abs);
}

interface Node {
  type: string;
  [k: string]: unknown;
}

const isNode = (v: unknown): v is Node => typeof v === 'object' && v !== null && typeof (v as Node).type === 'string';

function importsOf(file: string): Edge[] {
  const ast = parseAst(fs.readFileSync(file, 'utf8'), { lang: 'ts' }) as unknown as Node;
  const from = rel(file);
  const out: Edge[] = [];
  const source = (n: Node): string | undefined => {
    const s = n.source;
    return isNode(s) && typeof s.value === 'string' ? s.value : undefined;
  };
  const visit = (n: Node): void => {
    const spec = source(n);
    if ((n.type === 'ImportDeclaration' || n.type === 'ExportNamedDeclaration' || n.type === 'ExportAllDeclaration') && spec !== undefined) {
      const kind = n.type === 'ImportDeclaration' ? n.importKind : n.exportKind;
      const specifiers = (n.specifiers as Node[] | undefined) ?? [];
      const typeOnly = kind === 'type' || (specifiers.length > 0 && specifiers.every((s) => (s.importKind ?? s.exportKind) === 'type'));
      out.push({ from, to: resolve(file, spec), typeOnly, dynamic: false });
    } else if (n.type === 'ImportExpression' && spec !== undefined) {
      out.push({ from, to: resolve(file, spec), typeOnly: false, dynamic: true });
    }
    for (const v of Object.values(n)) {
      if (Array.isArray(v)) for (const c of v) isNode(c) && visit(c);
      else if (isNode(v)) visit(v);
    }
  };
  visit(ast);
  return out;
}

const files = modules(LIB).map(rel).sort();
const edges = modules(LIB).flatMap(importsOf);
const local = (e: Edge) => !e.to.startsWith('node:') && (e.to.endsWith('.ts') || e.to.includes('/'));

/** Every cycle of runtime imports (static or dynamic), each as a path that returns to its start. */
function cycles(): string[][] {
  const next = new Map<string, string[]>();
  for (const e of edges) if (!e.typeOnly && e.to.endsWith('.ts')) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const walk = (m: string): void => {
    state.set(m, 'open');
    stack.push(m);
    for (const n of next.get(m) ?? []) {
      if (state.get(n) === 'open') found.push([...stack.slice(stack.indexOf(n)), n]);
      else if (!state.has(n)) walk(n);
    }
    stack.pop();
    state.set(m, 'done');
  };
  for (const f of files) if (!state.has(f)) walk(f);
  return found;
}

describe('lib/ layout', () => {
  it('parses a real import graph (the test itself can fail)', () => {
    expect(files).toContain('coordinator/scheduler.ts');
    expect(edges.some((e) => e.from === 'coordinator/coordinator.ts' && e.to === 'coordinator/scheduler.ts' && !e.typeOnly)).toBe(true);
    expect(edges.some((e) => e.from === 'protocol/convert.ts' && e.to === 'coordinator/scheduler.ts' && e.typeOnly)).toBe(true);
    // Every relative import names a module that exists.
    const missing = edges.filter((e) => local(e) && e.to.endsWith('.ts') && !fs.existsSync(path.join(LIB, e.to)));
    expect(missing).toEqual([]);
  });

  it('has no import cycle', () => {
    expect(cycles().map((c) => c.join(' -> '))).toEqual([]);
  });

  it('lib/app/ (the light `kubemr/app` entry) imports nothing outside lib/app/ but the byte order', () => {
    const allowed = (to: string) => to.startsWith('app/') || to === 'shuffle/byte-order.ts';
    const bad = edges.filter((e) => e.from.startsWith('app/') && !allowed(e.to)).map((e) => `${e.from} -> ${e.to}`);
    expect(bad).toEqual([]);
    // And byte-order itself imports nothing, so the entry's closure stays light.
    expect(edges.filter((e) => e.from === 'shuffle/byte-order.ts' && !e.typeOnly)).toEqual([]);
  });

  it('outside lib/coordinator/, the scheduler is imported for its types only (the Coordinator is the door)', () => {
    // lib/index.ts is the package's public face: it re-exports the pure Scheduler for users
    // who test against it; no adapter holds one.
    const bad = edges
      .filter((e) => e.to === 'coordinator/scheduler.ts' && !e.typeOnly && !e.from.startsWith('coordinator/') && e.from !== 'index.ts')
      .map((e) => e.from);
    expect(bad).toEqual([]);
  });
});
