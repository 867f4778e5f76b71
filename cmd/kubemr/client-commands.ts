import path from 'node:path';
import { Command } from 'commander';
import { KubemrClient } from '../../lib/protocol/client.js';
import { JOB_DEFAULTS } from '../../lib/coordinator/jobspec.js';
import type { JobStatus__Output } from '../../lib/protocol/gen/kubemr/v1/JobStatus.js';
import { clientTls, clientToken, exitWithError, intFlag, paramFlag, sizeFlag, withTlsDialFlags } from './common.js';

interface ClientFlags {
  coordinator?: string;
  token?: string;
  data?: string;
  tlsCa?: string;
  tls?: boolean;
}

function connect(flags: ClientFlags): KubemrClient {
  return new KubemrClient({
    address: flags.coordinator ?? process.env.KUBEMR_COORDINATOR ?? '127.0.0.1:7070',
    token: clientToken(flags.token, flags.data),
    tls: clientTls(flags),
  });
}

const withClientFlags = (c: Command): Command =>
  withTlsDialFlags(
    c
      .option('--coordinator <host:port>', 'coordinator address (default $KUBEMR_COORDINATOR or 127.0.0.1:7070)')
      .option('--token <token>', 'token (default $KUBEMR_TOKEN or the data directory\'s token file)')
      .option('--data <dir>', 'data directory whose token file to use'),
  );

function summary(j: JobStatus__Output): string {
  return `${j.jobId}\t${j.phase}\tmap ${j.mapsDone}/${j.mapsTotal}\treduce ${j.reducesDone}/${j.reducesTotal}${j.message ? `\t${j.message}` : ''}`;
}

export function submitCommand(): Command {
  return withClientFlags(new Command('submit'))
    .description('submit a job to a running coordinator')
    .argument('<app>', 'app name or module path, as the workers load it')
    .argument('<inputs...>', 'input files, as the workers see them')
    .option('-r, --reducers <R>', 'reduce partitions', intFlag('--reducers', 1), JOB_DEFAULTS.reducers)
    .option('-w, --workers <N>', 'workers to start', intFlag('--workers', 1), JOB_DEFAULTS.workers)
    .option('--work-dir <dir>', 'directory relative inputs are resolved against', process.cwd())
    .option('--param <key=value>', 'a job parameter, read in map/reduce with params() (repeatable)', paramFlag)
    .option('--no-speculative', 'never run backup attempts of slow tasks near the end of a phase')
    .option('--no-pack', 'one map task per input file, however small (default: small files share map tasks)')
    .option('--split-size <size>', 'a file larger than this becomes several map tasks', sizeFlag('--split-size'), JOB_DEFAULTS.splitBytes)
    .option('--memory <size>', 'map-side buffer per worker before spilling; on Kubernetes it also sizes the worker pods\' memory', sizeFlag('--memory'), JOB_DEFAULTS.memoryBytes)
    .option('--wait', 'wait for the job to finish; exit non-zero unless it succeeds')
    .action(async (app: string, inputs: string[], flags: ClientFlags & { reducers: number; workers: number; workDir: string; wait?: boolean; param?: Record<string, string>; speculative: boolean; pack: boolean; splitSize: number; memory: number }) => {
      const client = connect(flags);
      try {
        const id = await client.submitJob({
          app,
          inputs,
          reducers: flags.reducers,
          workers: flags.workers,
          workDir: path.resolve(flags.workDir),
          params: flags.param ?? {},
          noSpeculation: !flags.speculative,
          noPack: !flags.pack,
          splitBytes: flags.splitSize,
          memoryBytes: flags.memory,
        });
        process.stdout.write(`${id}\n`);
        if (!flags.wait) return;
        for (;;) {
          const j = await client.getJob(id);
          if (['succeeded', 'failed', 'cancelled'].includes(j.phase)) {
            process.stderr.write(`${summary(j)}\n`);
            process.exitCode = j.phase === 'succeeded' ? 0 : 1;
            return;
          }
          await new Promise((r) => setTimeout(r, 500));
        }
      } catch (err) {
        exitWithError(err);
      } finally {
        client.close();
      }
    });
}

export function statusCommand(): Command {
  return withClientFlags(new Command('status'))
    .description('show one job, or list every job')
    .argument('[job]', 'job id')
    .option('--json', 'print JSON')
    .action(async (job: string | undefined, flags: ClientFlags & { json?: boolean }) => {
      const client = connect(flags);
      try {
        const jobs = job ? [await client.getJob(job)] : await client.listJobs();
        if (flags.json) process.stdout.write(JSON.stringify(job ? jobs[0] : jobs, null, 2) + '\n');
        else for (const j of jobs) process.stdout.write(`${summary(j)}\n`);
      } catch (err) {
        exitWithError(err);
      } finally {
        client.close();
      }
    });
}

export function cancelCommand(): Command {
  return withClientFlags(new Command('cancel'))
    .description('cancel a job: stop its workers, remove its intermediates, RESULT becomes CANCELLED')
    .argument('<job>', 'job id')
    .action(async (job: string, flags: ClientFlags) => {
      const client = connect(flags);
      try {
        const r = await client.cancelJob(job);
        process.stdout.write(r.cancelled ? `cancelled ${job}\n` : `${job} had already finished\n`);
      } catch (err) {
        exitWithError(err);
      } finally {
        client.close();
      }
    });
}
