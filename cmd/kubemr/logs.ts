import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { InvalidJobSpecError, JobNotFoundError } from '../../lib/errors.js';
import { isJobId, JOB_ID_RULE } from '../../lib/storage/job-id.js';
import { DataLayout } from '../../lib/storage/layout.js';
import { dataDir, exitWithError } from './common.js';

interface LogsFlags {
  data?: string;
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
 * and what its map or reduce printed) from the data directory, where every worker writes them,
 * locally and on the cluster's volume alike (the dashboard reads the same files).
 */
export function logsCommand(): Command {
  return new Command('logs')
    .description("print a job's attempt logs: what each map and reduce attempt printed, and how it ended")
    .argument('<job>', 'job id (printed by kubemr run, listed by kubemr status)')
    .argument('[task]', 'only this task (map-3, reduce-0) or attempt (map-3-2)')
    .option('--data <dir>', 'data directory the job ran in (default $KUBEMR_DATA or ./.kubemr)')
    .action((job: string, task: string | undefined, flags: LogsFlags) => {
      try {
        printLogs(job, task, dataDir(flags.data));
      } catch (err) {
        exitWithError(err);
      }
    });
}

function printLogs(job: string, task: string | undefined, data: string): void {
  if (!isJobId(job)) throw new InvalidJobSpecError(`Expected \`<job>\` to be a job id (${JOB_ID_RULE}), got \`${job}\``, { field: '<job>' });
  const want = task === undefined ? undefined : /^(map|reduce)-(\d+)(?:-(\d+))?$/.exec(task);
  if (task !== undefined && !want) throw new InvalidJobSpecError(`Expected \`[task]\` to be a task such as map-3 or reduce-0, or an attempt such as map-3-2, got \`${task}\``, { field: '[task]' });
  const layout = new DataLayout(data);
  const jl = layout.job(job);
  if (!fs.existsSync(jl.dir)) throw new JobNotFoundError(`No job \`${job}\` in data directory \`${data}\``, { jobId: job });
  // A multi-step job's attempts run in its steps, jobs of their own: <id>-s1, <id>-s2, ...
  const jobs = fs.existsSync(jl.pipeline)
    ? fs.readdirSync(layout.jobsDir()).filter((d) => d.startsWith(`${job}-s`) && /^\d+$/.test(d.slice(job.length + 2))).sort((a, b) => Number(a.slice(job.length + 2)) - Number(b.slice(job.length + 2)))
    : [job];
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
  const picked = want ? all.filter((a) => a.kind === want[1] && a.index === Number(want[2]) && (want[3] === undefined || a.attempt === Number(want[3]))) : all;
  if (picked.length === 0) {
    if (!want) throw new JobNotFoundError(`Job \`${job}\` has no attempt logs yet (in ${jl.logsDir})`, { jobId: job });
    const tasks = [...new Set(all.map((a) => `${a.kind}-${a.index}`))];
    const some = tasks.length > 8 ? `${tasks.slice(0, 8).join(', ')}, ...` : tasks.join(', ');
    throw new JobNotFoundError(`Job \`${job}\` has no log of \`${task}\`${tasks.length ? ` (it has ${some})` : ''}`, { jobId: job });
  }
  for (const a of picked) {
    // A header per attempt, as `tail` does for several files; a single attempt is printed bare.
    if (picked.length > 1) process.stdout.write(`==> ${jobs.length > 1 ? `${a.job} ` : ''}${a.kind}-${a.index} attempt ${a.attempt} (${a.file}) <==\n`);
    process.stdout.write(fs.readFileSync(a.file));
  }
}
