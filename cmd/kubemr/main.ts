#!/usr/bin/env node
import { Command } from 'commander';
import { cancelCommand, statusCommand, submitCommand } from './client-commands.js';
import { coordinatorCommand } from './coordinator.js';
import { dashboardCommand } from './dashboard.js';
import { fetchCommand } from './fetch.js';
import { runCommand } from './run.js';
import { workerCommand } from './worker.js';

const program = new Command('kubemr')
  .description('MapReduce for TypeScript: run an App on this machine or on Kubernetes')
  .version('0.1.0')
  .showHelpAfterError()
  .addCommand(runCommand())
  .addCommand(coordinatorCommand())
  .addCommand(workerCommand())
  .addCommand(submitCommand())
  .addCommand(statusCommand())
  .addCommand(cancelCommand())
  .addCommand(dashboardCommand())
  .addCommand(fetchCommand());

// Usage errors read like every other error: `kubemr: <what is wrong>`, exit code 2.
const output = { outputError: (text: string, write: (s: string) => void) => write(`kubemr: ${text.replace(/^error: /, '')}`) };
for (const c of [program, ...program.commands]) c.configureOutput(output);

await program.parseAsync(process.argv);
