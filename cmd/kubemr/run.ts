import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, Option } from 'commander';
import { Coordinator, isFinished } from '../../lib/coordinator/coordinator.js';
import { prepareJob, type PreparedJob } from '../../lib/coordinator/prepare.js';
import { errorMessage, InvalidJobSpecError } from '../../lib/errors.js';
import { LocalExecutor } from '../../lib/executor/local.js';
import { workerCredential } from '../../lib/protocol/credentials.js';
import type { CoordinatorServer } from '../../lib/protocol/server.js';
import { compileJobSpec, JOB_DEFAULTS, MIN_MEMORY_BYTES, type JobSpecInput } from '../../lib/coordinator/jobspec.js';
import { probeWritableDir, removeDirs } from '../../lib/storage/dirs.js';
import { checkOutputFormat } from '../../lib/storage/output-format.js';
import { BUNDLED_APPS, loadApp, resolveAppModule } from '../../lib/worker/loader.js';
import type { RegisteredApp } from '../../lib/app/app.js';
import { runSequentialJob } from '../../lib/coordinator/sequential.js';
import { formatCounters, jobCounters } from '../../lib/coordinator/counters.js';
import { cliLogger, dataDir, defaultWorkers, EXIT, exitWithError, exitWhenFlushed, intFlag, jobEndError, localToken, logsLine, paramFlag, portFlag, sizeFlag, withFlagNames } from './common.js';
import { reportProgress } from './progress.js';
import { resumeRun } from './resume.js';

interface RunFlags {
  reducers: number;
  workers: number;
  out: string;
  data?: string;
  sequential?: boolean;
  mapper?: string;
  reducer?: string;
  combiner?: string;
  leaseMs: number;
  maxAttempts: number;
  splitSize: number;
  memory: number;
  pack?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  workerRestarts: number;
  maxLine: number;
  dashboard?: number | true;
  outputFormat: string;
  param?: Record<string, string>;
  speculative: boolean;
  resume?: string;
}

export function runCommand(): Command {
  return new Command('run')
    .description('run a job on this machine: an embedded coordinator and local worker processes')
    .argument('[app]', 'bundled app (wordcount, indexer) or a .js/.mjs/.ts module that calls registerApp; omit with --mapper')
    .argument('[inputs...]', 'input files or glob patterns; passed to map exactly as given')
    .option('-r, --reducers <R>', 'number of reduce partitions; 0: a map-only job (also an app without reduce, or --mapper without --reducer)', intFlag('--reducers', 0), JOB_DEFAULTS.reducers)
    .option('-w, --workers <N>', 'worker processes', intFlag('--workers', 1), defaultWorkers())
    .option('-o, --out <dir>', 'directory for mr-out-<r>', 'output')
    .option('--data <dir>', 'data directory for job state, intermediates and logs (default $KUBEMR_DATA or ./.kubemr)')
    .option('--sequential', 'run the app in this process with no partitioning (the oracle); writes mr-out-0')
    .option('--mapper <cmd>', 'streaming mapper command: reads input lines, writes key<TAB>value lines')
    .option('--reducer <cmd>', 'streaming reducer command: reads sorted key<TAB>value lines (omit, or NONE, for a map-only job)')
    .option('--output-format <format>', 'output records as text (key value), tsv or jsonl (both lossless)', 'text')
    .option('--combiner <cmd>', 'streaming combiner command, run on each map task\'s sorted output')
    .option('--lease-ms <ms>', 'a task without a heartbeat for this long is reassigned', intFlag('--lease-ms', 100), JOB_DEFAULTS.leaseMs)
    .option('--max-attempts <n>', 'task failures before the job fails', intFlag('--max-attempts', 1), JOB_DEFAULTS.maxAttempts)
    .option('--split-size <size>', 'a file larger than this becomes several map tasks', sizeFlag('--split-size'), JOB_DEFAULTS.splitBytes)
    .option('--memory <size>', 'map-side buffer per worker before spilling to disk', sizeFlag('--memory', MIN_MEMORY_BYTES), JOB_DEFAULTS.memoryBytes)
    .option('--max-line <size>', 'longest line a streaming mapper or combiner may write', sizeFlag('--max-line'), JOB_DEFAULTS.maxLineBytes)
    .option('--pack', 'pack small files together into shared map tasks (the default)')
    .option('--no-pack', 'one map task per input file (as the MIT lab), however small')
    .addOption(new Option('--dashboard [port]', 'serve the dashboard while the job runs (default port 8081; 0 picks one)').argParser(portFlag('--dashboard')))
    .option('--param <key=value>', 'a job parameter, read in map/reduce with params() (repeatable)', paramFlag)
    .option('--no-speculative', 'never run backup attempts of slow tasks near the end of a phase')
    .option('--resume <jobId>', 'continue a job whose run was killed mid-way, from its journal in --data (no app or inputs)')
    .option('--worker-restarts <n>', 'restarts of a crashing worker process before it is given up', intFlag('--worker-restarts', 0), 20)
    .option('-q, --quiet', 'no progress output')
    .option('-v, --verbose', 'debug logging')
    .action(async (app: string | undefined, inputs: string[], flags: RunFlags) => {
      let code: number;
      try {
        code = await run(app, inputs, flags);
      } catch (err) {
        exitWithError(withFlagNames(err));
      }
      // The job is over, its workers stopped and its results written: exit even when the app
      // module, which this process imports to check it, left a timer or a socket open.
      exitWhenFlushed(code);
    });
}

async function run(appArg: string | undefined, rest: string[], flags: RunFlags): Promise<number> {
  if (flags.resume !== undefined) {
    if (appArg !== undefined || rest.length > 0) throw new InvalidJobSpecError('--resume takes the job id only: the app and inputs are in the job\'s saved spec');
    return resumeRun(flags.resume, { data: dataDir(flags.data), workerRestarts: flags.workerRestarts, quiet: flags.quiet ?? false, verbose: flags.verbose });
  }
  const streaming = flags.mapper !== undefined || flags.reducer !== undefined;
  const inputs = streaming ? [...(appArg ? [appArg] : []), ...rest] : rest;
  if (!streaming && !appArg) throw new InvalidJobSpecError('Expected an app (wordcount, indexer, or a module path), got none');
  if (streaming && !flags.mapper) throw new InvalidJobSpecError('A streaming job needs --mapper (and --reducer, unless it is map-only)');
  const outputFormat = checkOutputFormat('--output-format', flags.outputFormat);
  if (inputs.length === 0) throw new InvalidJobSpecError('Expected at least one input file, got none');
  const cwd = process.cwd();
  const outDir = path.resolve(cwd, flags.out);
  const app = streaming ? '' : appArg!;
  // The job as flags describe it; prepareJob checks it (once) wherever it runs.
  const jobInput = (loaded: RegisteredApp | undefined): JobSpecInput => ({
    app,
    inputs,
    // An app without reduce, or a mapper without a reducer, is a map-only job.
    reducers: (loaded && !loaded.steps.at(-1)!.reduce) || (streaming && (!flags.reducer || flags.reducer === 'NONE')) ? 0 : flags.reducers,
    outputFormat,
    workers: flags.workers,
    outputDir: outDir,
    workDir: cwd,
    leaseMs: flags.leaseMs,
    maxAttempts: flags.maxAttempts,
    splitBytes: flags.splitSize,
    memoryBytes: flags.memory,
    packSmallFiles: flags.pack,
    maxLineBytes: flags.maxLine,
    streaming: streaming ? { mapper: flags.mapper, reducer: flags.reducer ?? '', combiner: flags.combiner ?? '' } : undefined,
    name: loaded?.name ?? (streaming ? 'streaming' : path.basename(app).replace(/\.[^.]+$/, '')),
    params: flags.param,
    speculative: flags.speculative,
    steps: loaded?.steps.length,
  });

  if (flags.sequential) {
    if (streaming) throw new InvalidJobSpecError('--sequential runs an app; streaming jobs run with workers');
    // Checked before the app is loaded, as the distributed run's output is: a taken output
    // directory is refused before any user code runs.
    const job = await prepareJob(jobInput(undefined), { workDir: cwd, defaultOutputDir: () => outDir });
    const made = probeWritableDir(outDir, '`--out` directory');
    let loaded: RegisteredApp;
    try {
      loaded = await loadApp(appArg!, cwd);
    } catch (err) {
      removeDirs(made);
      throw err;
    }
    const started = Date.now();
    let counters: Record<string, number> = {};
    // `--reducers 0` makes any app map-only, in the oracle as in the job.
    const steps = flags.reducers === 0 ? loaded.steps.map((st) => ({ ...st, reduce: undefined })) : loaded.steps;
    const file = await runSequentialJob(steps, job, (c) => (counters = c));
    if (!flags.quiet) {
      process.stderr.write(`sequential run done in ${((Date.now() - started) / 1000).toFixed(2)}s: ${file}\n`);
      for (const line of formatCounters(counters)) process.stderr.write(`  ${line}\n`);
    }
    return 0;
  }

  // Every flag's value, before a worker starts (the inputs and the app are checked while they boot).
  compileJobSpec(jobInput(undefined), { workDir: cwd });
  const logger = cliLogger(flags.verbose);
  const data = dataDir(flags.data);
  // Before any worker starts: the data directory holds the job's state, intermediates and logs.
  probeWritableDir(data, '`--data` directory');
  const token = localToken(data);
  const executor = new LocalExecutor({ logger, maxRestarts: flags.workerRestarts });
  const coord = new Coordinator({ dataDir: data, executor, logger, recover: false, token, workerGraceMs: 1000, maxWorkersPerJob: Math.max(100, flags.workers) });
  // Workers take a few hundred milliseconds to boot: start them first, on a Unix socket chosen
  // now, and check the inputs and the app and start the coordinator while they do.
  const jobId = coord.newJobId(streaming ? 'streaming' : path.basename(app).replace(/\.[^.]+$/, ''));
  const socket = path.join(os.tmpdir(), `kubemr-${process.pid}-${crypto.randomBytes(3).toString('hex')}.sock`);
  const address = `unix:${socket}`;
  coord.advertise = address;
  let grpcServer: CoordinatorServer | undefined;
  const stop = async () => {
    await executor.close();
    if (grpcServer) await (await import('../../lib/protocol/server.js')).stopServer(grpcServer, 500);
    await coord.close();
    fs.rmSync(socket, { force: true });
  };
  let dashboard: { close(): Promise<void> } | undefined;
  let submitted = false;
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    if (++signals > 1 || !submitted) {
      // Impatient, or too early to cancel: stop the workers and go.
      process.stderr.write(`\nkubemr: ${sig}: stopping workers and exiting\n`);
      void executor.close().finally(() => process.exit(130));
      return;
    }
    if (isFinished(coord.getJob(jobId).phase)) return;
    process.stderr.write(`\nkubemr: ${sig}: cancelling ${jobId} and stopping workers\n`);
    coord.cancel(jobId);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // The workers get this job's credential, never the token: user code runs in them.
  await executor.launch({ jobId, app, coordinator: address, dataDir: data, token: workerCredential(token, jobId) }, flags.workers);
  let prepared: PreparedJob;
  let madeOut: string[] = [];
  try {
    const loaded = streaming ? undefined : await loadApp(app, cwd);
    prepared = await coord.prepare(jobInput(loaded), jobId);
    // Created and written to now, before any task runs: a directory no reduce could write
    // into is a usage error, not four failed reduces after the whole map phase.
    madeOut = probeWritableDir(prepared.outputDir, '`--out` directory');
    // Fails when another coordinator owns the data directory.
    await coord.start();
    // Before the job, so that a port in use is refused before any work; it dials the
    // coordinator only when asked, once that listens.
    if (flags.dashboard !== undefined) {
      dashboard = await startLocalDashboard(flags.dashboard, address, token, data, executor);
    }
  } catch (err) {
    // Nothing was submitted: stop the workers started for nothing and leave no job behind.
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await dashboard?.close();
    await stop();
    fs.rmSync(coord.jobLayout(jobId).dir, { recursive: true, force: true });
    removeDirs(madeOut);
    throw err;
  }
  try {
    const job = await coord.submit(prepared);
    submitted = true;
    // Listening only now: a worker that asked earlier would have been told its job is unknown.
    const { startCoordinatorServer } = await import('../../lib/protocol/server.js');
    fs.rmSync(socket, { force: true });
    // Jobs submitted to this coordinator (from the dashboard) may run what the user runs here:
    // the bundled apps and the app named on the command line, or streaming commands if this is a streaming run.
    const policy = { apps: streaming || BUNDLED_APPS.includes(app as 'wordcount') ? [] : [resolveAppModule(app, cwd)], streaming };
    grpcServer = await startCoordinatorServer(coord, address, { token, logger, policy });
    const stopProgress = reportProgress(coord, job.id, flags.quiet ?? false);
    const done = await coord.waitFor(job.id);
    stopProgress();
    if (dashboard) {
      // The dashboard is where the user inspects the finished job: keep it until Ctrl-C.
      process.stderr.write(`job ${done.id} ${done.phase}; the dashboard stays up until Ctrl-C\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
    }
    const logs = logsLine(done.id, coord.jobLayout(done.id).logsDir, flags.data);
    if (done.phase === 'succeeded') {
      if (!flags.quiet) {
        const secs = ((done.finishedAt! - done.submittedAt) / 1000).toFixed(2);
        process.stderr.write(`job ${done.id} succeeded in ${secs}s: ${(done.reduces.length || done.maps.length)} files in ${outDir}\n`);
        process.stderr.write('counters:\n');
        for (const line of formatCounters(jobCounters(done))) process.stderr.write(`  ${line}\n`);
        process.stderr.write(`${logs}\n`);
      }
      return EXIT.ok;
    }
    const err = jobEndError(done);
    process.stderr.write(`kubemr: ${err.message}\n`);
    process.stderr.write(`kubemr: ${logs}\n`);
    return done.phase === 'cancelled' ? EXIT.interrupted : EXIT.failed;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await dashboard?.close();
    await stop();
    // A job that was never submitted leaves nothing behind, not even its workers' logs.
    if (!submitted) fs.rmSync(coord.jobLayout(jobId).dir, { recursive: true, force: true });
  }
}

/** The dashboard, when its module is present; loaded lazily so `run` stays light. */
async function startLocalDashboard(
  port: number | true,
  coordinator: string,
  token: string,
  data: string,
  executor: LocalExecutor,
): Promise<{ close(): Promise<void> }> {
  const mod = await import('../dashboard/server.js');
  const p = port === true ? 8081 : port;
  let d: Awaited<ReturnType<typeof mod.startDashboard>>;
  try {
    d = await mod.startDashboard({ coordinator, token, dataDir: data, executor, host: '127.0.0.1', port: p });
  } catch (err) {
    throw new InvalidJobSpecError(`Cannot serve the dashboard on 127.0.0.1:${p} (\`--dashboard\`): ${errorMessage(err)}`, { field: '--dashboard', cause: err });
  }
  process.stderr.write(`dashboard: ${d.url}\n`);
  return d;
}
