/**
 * Starts `kubemr worker` from its one-file bundle, worker-bundle.cjs (written by
 * scripts/bundle-worker.ts), with V8's code cache: the bytecode of every function the last
 * worker ran, kept beside the bundle. A worker process then neither parses the megabyte of
 * bundled gRPC and protobuf code nor compiles the functions of its first task again; on a job of
 * the eight MIT books with two workers that is 60 ms of 1.08 s, and a tenth of its CPU time.
 *
 * The cache is V8's own format, checked by V8 against its version and flags; its file name also
 * carries the bundle's size and modification time, so a rebuilt bundle never meets the bytecode
 * of the old one. It is written by the first worker that found none (or one V8 refused), when
 * that worker exits, and only where the bundle is: whoever may write there may change the
 * bundle itself. Where that directory is read-only, workers start without a cache.
 *
 * Code compiled from a cache cannot `import()` on Node 20 ("A dynamic import callback was not
 * specified"), so the bundle imports apps and tsx through the function this module leaves on
 * globalThis (see lib/worker/loader.ts).
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

(globalThis as Record<symbol, unknown>)[Symbol.for('kubemr.import')] = (specifier: string) => import(specifier);

const code = fileURLToPath(new URL('./worker-bundle.cjs', import.meta.url));
const stat = fs.statSync(code);

/** FNV-1a of the Node version and flags (NODE_OPTIONS too), which V8 checks a cache against. */
function tag(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(36);
}
const cacheFile = path.join(path.dirname(code), `worker-bundle.${stat.size}-${Math.floor(stat.mtimeMs)}-${tag(`${process.version} ${process.arch} ${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`)}.v8cache`);

let cachedData: Buffer | undefined;
try {
  cachedData = fs.readFileSync(cacheFile);
} catch {
  // None yet.
}
const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${fs.readFileSync(code, 'utf8')}\n})`, {
  filename: code,
  cachedData,
});
if (cachedData === undefined || script.cachedDataRejected === true) {
  process.once('exit', () => {
    const tmp = `${cacheFile}.${process.pid}.tmp`;
    try {
      fs.writeFileSync(tmp, script.createCachedData());
      fs.renameSync(tmp, cacheFile);
    } catch {
      // A read-only installation: the next worker starts without a cache, as this one did.
      fs.rmSync(tmp, { force: true });
    }
  });
}
const module = { exports: {} };
(script.runInThisContext() as (...args: unknown[]) => void).call(module.exports, module.exports, createRequire(code), module, code, path.dirname(code));
