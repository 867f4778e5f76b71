#!/usr/bin/env node
import type { Command } from 'commander';
import { runProgram } from './program.js';

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

const wanted = process.argv[2];
const names = wanted !== undefined && wanted in COMMANDS ? [wanted] : Object.keys(COMMANDS);
await runProgram(await Promise.all(names.map((name) => COMMANDS[name]!())));
