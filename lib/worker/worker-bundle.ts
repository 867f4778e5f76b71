/**
 * Starts `kubemr worker` from its one-file bundle, worker-bundle.cjs (written by
 * scripts/bundle-worker.ts), with V8's code cache: the bytecode of every function a worker ran,
 * kept beside the bundle. A worker process then neither parses the megabyte of bundled gRPC and
 * protobuf code nor compiles the functions of its first task again.
 *
 * The cache is V8's own format, checked by V8 against its version and flags; its file name also
 * carries the bundle's size and modification time, so a rebuilt bundle never meets the bytecode
 * of the old one (whose caches the next write removes). It is written by a worker that found
 * none, or one V8 refused, when that worker ends its work (exit code 0, or 143 when stopped at
 * the job's end), and only where the bundle is: whoever may write there may change the bundle
 * itself. Where that directory is not writable, workers start without a cache.
 *
 * Code run by vm.Script can `import()` only through an `importModuleDynamically` callback, and
 * on Node 20 code compiled from a cache loses it ("A dynamic import callback was not
 * specified"), so the bundle imports apps and tsx through the function this module leaves on
 * globalThis (see lib/worker/loader.ts).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

(globalThis as Record<symbol, unknown>)[Symbol.for('kubemr.import')] = (specifier: string) => import(specifier);

const code = fileURLToPath(new URL('./worker-bundle.cjs', import.meta.url));
const dir = path.dirname(code);
const stat = fs.statSync(code);

/** FNV-1a of the Node version and flags (NODE_OPTIONS too), which V8 checks a cache against. */
function tag(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(36);
}
const build = `${stat.size}-${Math.floor(stat.mtimeMs)}`;
const cacheFile = path.join(dir, `worker-bundle.${build}-${tag(`${process.version} ${process.arch} ${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`)}.v8cache`);

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

function writable(d: string): boolean {
  try {
    fs.accessSync(d, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

if ((cachedData === undefined || script.cachedDataRejected === true) && writable(dir)) {
  process.once('exit', (exitCode) => {
    // A worker that failed (its app did not load, say) ran too little to be worth caching.
    if (exitCode !== 0 && exitCode !== 143) return;
    // Its own name (the pid alone repeats across containers sharing an installation); a file
    // left by a worker killed mid-write ends in .tmp, which the package leaves out.
    const tmp = `${cacheFile}.${process.pid}-${crypto.randomBytes(4).toString('hex')}.tmp`;
    try {
      fs.writeFileSync(tmp, script.createCachedData(), { flag: 'wx' });
      fs.renameSync(tmp, cacheFile);
      for (const f of fs.readdirSync(dir)) {
        if (/^worker-bundle\..*\.v8cache$/.test(f) && !f.startsWith(`worker-bundle.${build}-`)) fs.rmSync(path.join(dir, f), { force: true });
      }
    } catch {
      // The next worker starts without a cache, as this one did.
      try {
        fs.rmSync(tmp, { force: true });
      } catch {
        // Nothing more to do at exit.
      }
    }
  });
}
const module = { exports: {} };
(script.runInThisContext() as (...args: unknown[]) => void).call(module.exports, module.exports, createRequire(code), module, code, dir);
