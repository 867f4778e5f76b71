#!/usr/bin/env node
import { Command } from 'commander';
import { cancelCommand, statusCommand, submitCommand } from './client-commands.js';
import { coordinatorCommand } from './coordinator.js';
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
  .addCommand(cancelCommand());

await program.parseAsync(process.argv);
