import fs from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

/**
 * Bundles `kubemr worker` (cmd/kubemr/worker-main.ts and everything it loads, gRPC included)
 * into one CommonJS file, dist/lib/worker/worker-bundle.cjs, which the local executor starts
 * for each worker through dist/lib/worker/worker-bundle.js (lib/worker/worker-bundle.ts: it runs
 * the bundle with V8's code cache, which only a classic script can use). Loading one file costs
 * a worker process far less than resolving and compiling some hundred and fifty modules: a
 * two-worker job of one small file ran in 460 ms instead of 518 ms.
 *
 * It lives in dist/lib/worker because the modules bundled from there find files beside them by
 * their own URL, which in the bundle is the bundle's: the heartbeat thread's script
 * (./heartbeat-thread.js), the bundled apps and proto/ (found walking up to the package root).
 *
 * The App API (lib/app/) is bundled too, so the bundle needs no ES module; the copy the user's
 * app imports from the package agrees with it, as every piece of its state (the registered app,
 * the task scope, counters) lives on globalThis under Symbol.for keys. tsx stays outside: it
 * loads its own files by their paths.
 *
 * Usage: node dist/scripts/bundle-worker.js [distDir]   (run by `npm run build` after tsc)
 */
async function bundleWorker(dist: string): Promise<void> {
  const outfile = path.join(dist, 'lib', 'worker', 'worker-bundle.cjs');
  await build({
    entryPoints: [path.join(dist, 'cmd', 'kubemr', 'worker-main.js')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // grpc-js loads proto-loader only for channelz and ORCA, which no kubemr process uses.
    external: ['tsx', 'tsx/*', '@grpc/proto-loader'],
    // The modules' own URL, as in the build: the bundle's.
    define: { 'import.meta.url': 'kubemrBundleUrl' },
    // "use strict" first: esbuild's own directive, after a banner, would no longer be one.
    banner: { js: "'use strict';\nconst kubemrBundleUrl = require('node:url').pathToFileURL(__filename).href;" },
    logLevel: 'warning',
  });
  if (!fs.existsSync(outfile)) throw new Error(`esbuild wrote no ${outfile}`);
}

await bundleWorker(path.resolve(process.argv[2] ?? 'dist'));
