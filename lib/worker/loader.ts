import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { clearRegisteredApp, registeredApp, type RegisteredApp } from '../app/app.js';
import { AppNotFoundError, errorMessage } from '../errors.js';

/** Apps that ship with kubemr, loadable by name. */
export const BUNDLED_APPS = ['wordcount', 'indexer'] as const;

function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error('kubemr package root not found');
}

/**
 * Where an app's module is: a bundled name resolves to its built entry point, anything else is
 * a path to a .js/.mjs/.ts module (relative to `cwd`).
 */
export function resolveAppModule(app: string, cwd = process.cwd()): string {
  if ((BUNDLED_APPS as readonly string[]).includes(app)) {
    const root = packageRoot();
    const here = fileURLToPath(import.meta.url);
    // From the build (dist/lib) load dist/apps; from sources (lib/*.ts under tsx or vitest) the .ts entry.
    const candidates = here.endsWith('.ts')
      ? [path.join(root, 'apps', app, 'index.ts')]
      : [path.join(root, 'dist', 'apps', app, 'index.js'), path.join(root, 'apps', app, 'index.ts')];
    const found = candidates.find((c) => fs.existsSync(c));
    if (!found) throw new AppNotFoundError(`Bundled app \`${app}\` is missing from this installation`, { app });
    return found;
  }
  const abs = path.resolve(cwd, app);
  if (!fs.existsSync(abs)) {
    throw new AppNotFoundError(
      `App \`${app}\` is neither a bundled app (${BUNDLED_APPS.join(', ')}) nor an existing module file`,
      { app },
    );
  }
  if (!/\.(m?js|cjs|m?ts|cts)$/.test(abs)) {
    throw new AppNotFoundError(`App \`${app}\` must be a .js, .mjs or .ts module`, { app });
  }
  return abs;
}

/**
 * `import()`, or the one the worker bundle's starter provides (see worker-bundle.ts): the bundle
 * runs as a vm.Script compiled from V8's code cache, which cannot import by itself on Node 20.
 */
function importModule<T>(specifier: string): Promise<T> {
  const viaStarter = (globalThis as Record<symbol, unknown>)[Symbol.for('kubemr.import')] as ((s: string) => Promise<T>) | undefined;
  return viaStarter ? viaStarter(specifier) : (import(specifier) as Promise<T>);
}

/**
 * Imports an app module and returns the App it registered. TypeScript modules load through
 * tsx, so a user's .ts app runs without a build step.
 */
export async function loadApp(app: string, cwd = process.cwd()): Promise<RegisteredApp> {
  const file = resolveAppModule(app, cwd);
  clearRegisteredApp();
  try {
    if (/\.[mc]?ts$/.test(file) && !process.execArgv.some((a) => a.includes('tsx'))) {
      const { tsImport } = await importModule<typeof import('tsx/esm/api')>('tsx/esm/api');
      await tsImport(pathToFileURL(file).href, import.meta.url);
    } else {
      await importModule(pathToFileURL(file).href);
    }
  } catch (err) {
    if (AppNotFoundError.is(err)) throw err;
    throw new AppNotFoundError(`App module \`${app}\` failed to load: ${errorMessage(err)}`, { app, cause: err });
  }
  const reg = registeredApp();
  if (!reg) throw new AppNotFoundError(`App module \`${app}\` never called registerApp(app)`, { app });
  return reg;
}
