#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { EXIT, EXIT_CODES_HELP, exitWithError } from './common.js';

// Each subcommand's module is loaded only when that subcommand runs: a worker process (started
// once per worker, many times per job) should not pay for the dashboard's express and ejs.
const COMMANDS: Record<string, () => Promise<Command>> = {
  run: async () => (await import('./run.js')).runCommand(),
  coordinator: async () => (await import('./coordinator.js')).coordinatorCommand(),
  worker: async () => (await import('./worker.js')).workerCommand(),
  submit: async () => (await import('./client-commands.js')).submitCommand(),
  status: async () => (await import('./client-commands.js')).statusCommand(),
  cancel: async () => (await import('./client-commands.js')).cancelCommand(),
  dashboard: async () => (await import('./dashboard.js')).dashboardCommand(),
  fetch: async () => (await import('./fetch.js')).fetchCommand(),
  upload: async () => (await import('./files.js')).uploadCommand(),
  download: async () => (await import('./files.js')).downloadCommand(),
  logs: async () => (await import('./logs.js')).logsCommand(),
};

const program = new Command('kubemr')
  .description('MapReduce for TypeScript: run an App on this machine or on Kubernetes')
  .version('0.1.0')
  .showHelpAfterError()
  .addHelpText('after', EXIT_CODES_HELP);

const wanted = process.argv[2];
const names = wanted !== undefined && wanted in COMMANDS ? [wanted] : Object.keys(COMMANDS);
for (const name of names) program.addCommand(await COMMANDS[name]!());

// Usage errors read like every other error: `kubemr: <what is wrong>`, exit code 2 (commander's
// own is 1, the code of a failed job).
const output = { outputError: (text: string, write: (s: string) => void) => write(`kubemr: ${text.replace(/^error: /, '')}`) };
const exit = (err: CommanderError) => process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage);
for (const c of [program, ...program.commands]) c.configureOutput(output).exitOverride(exit);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // A subcommand that throws instead of choosing its own exit (fetch) ends here.
  exitWithError(err);
}
