#!/usr/bin/env node
/**
 * The fetch Job's entry point: `node dist/cmd/fetch/main.js --data /data gutenberg`.
 * Same flags as `kubemr fetch`. Exit codes: 0 done, 1 a file failed, 2 bad usage, 130 interrupted.
 */
import { CommanderError } from 'commander';
import { errorMessage } from '../../lib/errors.js';
import { FetchAbortedError, InvalidFetchOptionsError, InvalidManifestError } from '../../lib/fetch/errors.js';
import { fetchCommand } from '../kubemr/fetch.js';

try {
  await fetchCommand().exitOverride().parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Commander has already printed the usage problem (or the help, exit code 0).
    process.exitCode = err.exitCode === 0 ? 0 : 2;
  } else {
    process.stderr.write(`fetch: ${errorMessage(err)}\n`);
    process.exitCode =
      FetchAbortedError.is(err) ? 130 : InvalidFetchOptionsError.is(err) || InvalidManifestError.is(err) ? 2 : 1;
  }
}
