import { Command } from 'commander';
import { createLogger } from '../../lib/logger.js';
import { BUILTIN_DATASETS } from '../../lib/fetch/builtin.js';
import { InvalidFetchOptionsError } from '../../lib/fetch/errors.js';
import { fetchDataset } from '../../lib/fetch/fetch.js';
import { planFetch } from '../../lib/fetch/plan.js';
import { formatBytes, ProgressRenderer } from '../../lib/fetch/progress.js';
import { dataDir } from './common.js';

interface FetchFlags {
  data?: string;
  dataset?: string;
  manifest?: string;
  from?: string;
  concurrency?: string;
  retries?: string;
  verify: boolean;
  force?: boolean;
}

/** Flags arrive as strings; a non-number gets the same message the library gives a bad number. */
function integerFlag(field: string, raw: string | undefined, min: number): number | undefined {
  if (raw === undefined) return undefined;
  const n = /^-?\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min) {
    throw new InvalidFetchOptionsError(`Expected \`${field}\` to be an integer >= ${min}, got \`${raw}\``);
  }
  return n;
}

/**
 * `kubemr fetch`: downloads a dataset into `<data>/inputs/<dataset>/`. Progress and logs go to
 * stderr; on success the dataset directory is printed on stdout, so scripts can capture it.
 * Throws on failure; the caller prints the message and picks the exit code.
 */
export function fetchCommand(): Command {
  const builtins = Object.keys(BUILTIN_DATASETS).join(', ');
  return new Command('fetch')
    .description(`Download a dataset (built-in: ${builtins}), a manifest's files or URLs into <data>/inputs/<dataset>/`)
    .argument('[dataset-or-urls...]', `a built-in dataset (${builtins}) or http(s) URLs`)
    .option('--data <dir>', 'shared data directory (default: $KUBEMR_DATA, else ./.kubemr)')
    .option('--dataset <name>', 'directory name under inputs/ (default: the dataset, manifest or --from name)')
    .option('--manifest <file>', 'JSON manifest: {"dataset"?, "files": [{"name"?, "url", "sha256"?, "size"?}]}')
    .option('--from <dir>', 'copy files from this local directory instead of downloading')
    .option('--concurrency <n>', 'files transferred at once (default: 4)')
    .option('--retries <n>', 'further attempts after a transient failure (default: 4)')
    .option('--no-verify', 'accept files whose size or sha256 differ from the manifest')
    .option('--force', 'transfer files again even if complete copies are present')
    .action(async (targets: string[], flags: FetchFlags) => {
      const concurrency = integerFlag('--concurrency', flags.concurrency, 1);
      const retries = integerFlag('--retries', flags.retries, 0);
      const plan = await planFetch({
        targets,
        ...(flags.manifest !== undefined ? { manifest: flags.manifest } : {}),
        ...(flags.from !== undefined ? { from: flags.from } : {}),
        ...(flags.dataset !== undefined ? { dataset: flags.dataset } : {}),
      });

      const stderr = process.stderr;
      const renderer = new ProgressRenderer({
        write: (text) => stderr.write(text),
        tty: stderr.isTTY === true,
        ...(stderr.columns ? { columns: stderr.columns } : {}),
      });
      const logger = createLogger({ level: 'info', write: (line) => renderer.line(line) });

      // ^C or a pod's SIGTERM aborts the transfers, which removes their temp files on the way out.
      const controller = new AbortController();
      const abort = () => controller.abort();
      process.once('SIGINT', abort);
      process.once('SIGTERM', abort);
      try {
        const result = await fetchDataset({
          data: dataDir(flags.data),
          dataset: plan.dataset,
          files: plan.files,
          ...(flags.from !== undefined ? { from: flags.from } : {}),
          ...(concurrency !== undefined ? { concurrency } : {}),
          ...(retries !== undefined ? { retries } : {}),
          verify: flags.verify,
          force: flags.force === true,
          logger,
          onProgress: renderer.onProgress,
          signal: controller.signal,
        });
        renderer.finish();
        const counts = new Map<string, number>();
        for (const f of result.files) counts.set(f.outcome, (counts.get(f.outcome) ?? 0) + 1);
        const bytes = result.files.reduce((sum, f) => sum + f.bytes, 0);
        const how = [...counts].map(([outcome, n]) => `${n} ${outcome}`).join(', ');
        stderr.write(`fetched ${result.dataset}: ${result.files.length} files, ${formatBytes(bytes)} (${how}) in ${result.dir}\n`);
        process.stdout.write(result.dir + '\n');
      } finally {
        renderer.finish();
        process.off('SIGINT', abort);
        process.off('SIGTERM', abort);
      }
    });
}
