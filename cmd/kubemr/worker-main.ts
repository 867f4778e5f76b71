/**
 * `kubemr worker` alone: the entry of the worker bundle (scripts/bundle-worker.ts), which the
 * local executor starts instead of the whole CLI. Same flags, output and exit codes.
 */
import { runProgram } from './program.js';
import { workerCommand } from './worker.js';

// No top-level await: the bundle is CommonJS (see lib/worker/worker-bundle.ts); runProgram
// reports its own errors.
void runProgram([workerCommand()]);
