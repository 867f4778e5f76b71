import fs from 'node:fs';
import path from 'node:path';

/**
 * Writes a `.d.cts` twin beside every `.d.ts` under `dist/lib`, for the `require` conditions
 * of package.json's `exports`.
 *
 * Why: the package is ESM, and Node (>= 20.19) lets a CommonJS project `require()` it, so
 * the same files serve both conditions at run time and an app's `registerApp` reaches the one
 * copy the loader reads. TypeScript, though, reads a `.d.ts` of a `"type": "module"` package as
 * ESM, and under `module: node16` refuses to let a CommonJS file import it (TS1479). A `.d.cts`
 * declares the same API as CommonJS; its relative imports point at the other twins (`./x.cjs`
 * resolves to `./x.d.cts`), so the whole graph is read one way.
 *
 * Usage: node dist/scripts/cjs-types.js [distDir]   (run by `npm run build` after tsc)
 */
const RELATIVE_JS = /((?:from\s+|import\s*\(\s*)['"])(\.{1,2}\/[^'"]*?)\.js(['"])/g;

function cjsTwin(text: string): string {
  return text.replace(RELATIVE_JS, '$1$2.cjs$3');
}

function* declarations(dir: string): Generator<string> {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* declarations(p);
    else if (e.name.endsWith('.d.ts')) yield p;
  }
}

function main(): void {
  const lib = path.join(path.resolve(process.argv[2] ?? 'dist'), 'lib');
  let n = 0;
  for (const file of declarations(lib)) {
    fs.writeFileSync(file.replace(/\.d\.ts$/, '.d.cts'), cjsTwin(fs.readFileSync(file, 'utf8')));
    n++;
  }
  if (n === 0) throw new Error(`no .d.ts files under ${lib}: run tsc first`);
}

main();
