import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { CoordinatorUnavailableError, errorMessage, InvalidJobSpecError, JobNotFoundError, KubemrError } from '../../lib/errors.js';
import { isJobId, JOB_ID_RULE } from '../../lib/storage/job-id.js';
import { stepJobId } from '../../lib/coordinator/pipeline.js';
import { DataLayout } from '../../lib/storage/layout.js';
import { clientToken, dataDir, exitWithError } from './common.js';

interface LogsFlags {
  data?: string;
  dashboard?: string;
  token?: string;
}

/** The dashboard refused or failed a request. */
class DashboardError extends KubemrError {
  override readonly code = 'UNAVAILABLE';
}

/** An attempt's log file name: `<task>-<attempt>.log` (JobLayout.attemptLog). */
const ATTEMPT_LOG = /^(map|reduce)-(\d+)-(\d+)\.log$/;

interface AttemptFile {
  job: string;
  kind: string;
  index: number;
  attempt: number;
  file: string;
}

/**
 * `kubemr logs <job> [task]`: the attempt logs of a job (the worker's lines about each attempt
 * and what its map or reduce printed) from the data directory, where every worker writes them;
 * with `--dashboard`, the same files through a dashboard's API (a cluster's volume, read from
 * outside it).
 */
export function logsCommand(): Command {
  return new Command('logs')
    .description("print a job's attempt logs: what each map and reduce attempt printed, and how it ended")
    .argument('<job>', 'job id (printed by kubemr run, listed by kubemr status)')
    .argument('[task]', 'only this task (map-3, reduce-0) or attempt (map-3-2)')
    .option('--data <dir>', 'data directory the job ran in (default $KUBEMR_DATA or ./.kubemr)')
    .option('--dashboard <url>', 'read them through this dashboard instead (a cluster: its data volume)')
    .option('--token <token>', 'with --dashboard: token (default $KUBEMR_TOKEN or the data directory\'s token file)')
    .action(async (job: string, task: string | undefined, flags: LogsFlags) => {
      try {
        if (!isJobId(job)) throw new InvalidJobSpecError(`Expected \`<job>\` to be a job id (${JOB_ID_RULE}), got \`${job}\``, { field: '<job>' });
        const want = task === undefined ? undefined : /^(map|reduce)-(\d+)(?:-(\d+))?$/.exec(task);
        if (task !== undefined && !want) throw new InvalidJobSpecError(`Expected \`[task]\` to be a task such as map-3 or reduce-0, or an attempt such as map-3-2, got \`${task}\``, { field: '[task]' });
        const pick = want ? { kind: want[1]!, index: Number(want[2]), attempt: want[3] === undefined ? undefined : Number(want[3]) } : undefined;
        if (flags.dashboard !== undefined) await printFromDashboard(job, task, pick, flags);
        else printLogs(job, task, pick, dataDir(flags.data));
      } catch (err) {
        exitWithError(err);
      }
    });
}

interface Pick {
  kind: string;
  index: number;
  attempt: number | undefined;
}

const picks = (p: Pick | undefined, kind: string, index: number, attempt: number): boolean =>
  !p || (p.kind === kind && p.index === index && (p.attempt === undefined || p.attempt === attempt));

/** A header per attempt, as `tail` does for several files; a single attempt is printed bare. */
const header = (what: string, where: string) => `==> ${what} (${where}) <==\n`;

function noSuchTask(job: string, task: string, tasks: string[]): JobNotFoundError {
  const some = tasks.length > 8 ? `${tasks.slice(0, 8).join(', ')}, ...` : tasks.join(', ');
  return new JobNotFoundError(`Job \`${job}\` has no log of \`${task}\`${tasks.length ? ` (it has ${some})` : ''}`, { jobId: job });
}

/** The step jobs of a multi-step job, in order, as its saved spec counts them. */
function stepsOf(job: string, pipelineFile: string): string[] {
  const steps = Number((JSON.parse(fs.readFileSync(pipelineFile, 'utf8')) as { spec?: { steps?: unknown } }).spec?.steps ?? 0);
  return Array.from({ length: steps }, (_, k) => stepJobId(job, k));
}

function printLogs(job: string, task: string | undefined, want: Pick | undefined, data: string): void {
  const layout = new DataLayout(data);
  const jl = layout.job(job);
  if (!fs.existsSync(jl.dir)) throw new JobNotFoundError(`No job \`${job}\` in data directory \`${data}\``, { jobId: job });
  // A multi-step job's attempts run in its steps, jobs of their own: <id>-s1, <id>-s2, ...
  const jobs = fs.existsSync(jl.pipeline) ? stepsOf(job, jl.pipeline).filter((id) => fs.existsSync(layout.job(id).dir)) : [job];
  const all: AttemptFile[] = [];
  for (const j of jobs) {
    const dir = layout.job(j).logsDir;
    const names = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
    for (const name of names) {
      const m = ATTEMPT_LOG.exec(name);
      if (m) all.push({ job: j, kind: m[1]!, index: Number(m[2]), attempt: Number(m[3]), file: path.join(dir, name) });
    }
  }
  all.sort((a, b) => jobs.indexOf(a.job) - jobs.indexOf(b.job) || (a.kind === b.kind ? 0 : a.kind === 'map' ? -1 : 1) || a.index - b.index || a.attempt - b.attempt);
  const picked = all.filter((a) => picks(want, a.kind, a.index, a.attempt));
  if (picked.length === 0) {
    if (!want) throw new JobNotFoundError(`Job \`${job}\` has no attempt logs yet (in ${jl.logsDir})`, { jobId: job });
    throw noSuchTask(job, task!, [...new Set(all.map((a) => `${a.kind}-${a.index}`))]);
  }
  for (const a of picked) {
    if (picked.length > 1) process.stdout.write(header(`${jobs.length > 1 ? `${a.job} ` : ''}${a.kind}-${a.index} attempt ${a.attempt}`, a.file));
    process.stdout.write(fs.readFileSync(a.file));
  }
}

/** The same logs through a dashboard's API: the job's tasks, then each attempt's log. */
async function printFromDashboard(job: string, task: string | undefined, want: Pick | undefined, flags: LogsFlags): Promise<void> {
  let base: URL;
  try {
    base = new URL(flags.dashboard!);
  } catch {
    throw new InvalidJobSpecError(`Expected \`--dashboard\` to be a URL such as http://127.0.0.1:8081, got \`${flags.dashboard}\``, { field: '--dashboard' });
  }
  const token = clientToken(flags.token, flags.data);
  const get = async (p: string): Promise<Response> => {
    let r: Response;
    try {
      r = await fetch(new URL(p, base), { headers: token ? { Authorization: `Bearer ${token}` } : {} });
    } catch (err) {
      throw new CoordinatorUnavailableError(`cannot reach the dashboard at ${base.origin}: ${errorMessage((err as Error).cause ?? err)}`, { address: base.origin });
    }
    if (r.status === 404) throw new JobNotFoundError(`The dashboard at ${base.origin} knows no job \`${job}\``, { jobId: job });
    if (!r.ok) throw new DashboardError(`the dashboard at ${base.origin} answered HTTP ${r.status} for ${p}: ${(await r.text()).slice(0, 200)}`);
    return r;
  };
  const { tasks } = (await (await get(`/api/jobs/${job}`)).json()) as { tasks: Array<{ id: string; kind: string; index: number; history: Array<{ attempt: number; log: string }> }> };
  const picked = tasks.flatMap((t) => t.history.filter((a) => picks(want, t.kind, t.index, a.attempt)).map((a) => ({ task: t.id, ...a })));
  if (picked.length === 0) {
    if (!want) throw new JobNotFoundError(`Job \`${job}\` has no attempts yet`, { jobId: job });
    throw noSuchTask(job, task!, tasks.filter((t) => t.history.length > 0).map((t) => t.id));
  }
  for (const a of picked) {
    const text = await (await get(a.log)).text();
    if (picked.length > 1) process.stdout.write(header(`${a.task} attempt ${a.attempt}`, new URL(a.log, base).href));
    process.stdout.write(text);
  }
}
