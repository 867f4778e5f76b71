import fs from 'node:fs';
import path from 'node:path';
import { InvalidJobSpecError, errorMessage } from '../errors.js';
import { BUNDLED_APPS, resolveAppModule } from '../worker/loader.js';
import type { JobSpec } from './jobspec.js';

/**
 * What a client of the coordinator's API (gRPC SubmitJob, and the dashboard, which submits
 * through it) may have run: an allow-list, checked at submit. A job the policy refuses is
 * INVALID_ARGUMENT (HTTP 400) with a message naming what is not allowed and the flag that
 * would allow it. Jobs the coordinator's own process submits (`kubemr run`, a MapReduceJob,
 * whose creation Kubernetes RBAC authorizes) are not API submissions.
 */
export interface RunPolicy {
  /** Directories whose app modules (at any depth, symlinks resolved) clients may run. @default none */
  appDirs?: readonly string[];
  /** Single app module files clients may run: `kubemr run` allows the one its user named. @default none */
  apps?: readonly string[];
  /** Streaming commands (run through `sh -c`, so any command at all). @default false */
  streaming?: boolean;
  /** Worker images a job may name (Kubernetes); the app then comes from that image. @default none */
  images?: readonly string[];
  /** Jobs that name no app, for hand-started workers that bring their own. @default false */
  appless?: boolean;
}

const real = (p: string): string | undefined => {
  try {
    return fs.realpathSync.native(p);
  } catch {
    return undefined;
  }
};

function inside(file: string, dir: string): boolean {
  const rel = path.relative(dir, file);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}

/** Throws InvalidJobSpecError naming the problem unless `spec` may run under `policy`. */
export function checkRunPolicy(spec: JobSpec, policy: RunPolicy = {}): void {
  if (spec.streaming.mapper !== '') {
    if (!policy.streaming) {
      throw new InvalidJobSpecError('Streaming commands are not allowed on this coordinator (they run as shell commands); its operator can allow them with --allow-streaming', { field: 'streaming' });
    }
  }
  if (spec.image !== '' && !(policy.images ?? []).includes(spec.image)) {
    const allowed = policy.images?.length ? policy.images.map((i) => `\`${i}\``).join(', ') : 'none';
    throw new InvalidJobSpecError(`Image \`${spec.image}\` is not allowed on this coordinator (allowed: ${allowed}; --allow-image adds one)`, { field: 'image' });
  }
  if (spec.streaming.mapper !== '') return;
  const app = spec.app;
  if (app === '') {
    if (policy.appless) return;
    throw new InvalidJobSpecError(`Expected \`app\` to name an app (${BUNDLED_APPS.join(', ')}, or a module path), got none`, { field: 'app' });
  }
  // An allowed image brings its own app: the path is inside the image, not on this disk.
  if (spec.image !== '') return;
  let file: string;
  try {
    file = resolveAppModule(app, spec.workDir);
  } catch (err) {
    throw new InvalidJobSpecError(errorMessage(err), { field: 'app', cause: err });
  }
  if ((BUNDLED_APPS as readonly string[]).includes(app)) return;
  const at = real(file)!;
  const dirs = (policy.appDirs ?? []).map(real).filter((d): d is string => d !== undefined);
  const files = (policy.apps ?? []).map((f) => real(path.resolve(f))).filter((f): f is string => f !== undefined);
  if (files.includes(at) || dirs.some((d) => inside(at, d))) return;
  const where = policy.appDirs?.length ? `modules under ${policy.appDirs.map((d) => `\`${d}\``).join(', ')}` : 'no module paths (--app-dir allows a directory)';
  throw new InvalidJobSpecError(`App \`${app}\`${at === app ? '' : ` (${at})`} is not allowed on this coordinator: clients may run the bundled apps (${BUNDLED_APPS.join(', ')}) and ${where}`, { field: 'app' });
}
