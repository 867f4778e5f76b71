#!/usr/bin/env node
/**
 * The dashboard as its own process (the cluster deployment):
 *   node dist/cmd/dashboard/main.js --coordinator HOST:PORT --listen 0.0.0.0:8081 --data /data
 */
import path from 'node:path';
import { Command } from 'commander';
import { cliLogger, clientTls, exitWithError, noCredential, sizeFlag, withDashboardAccessFlags } from '../kubemr/common.js';
import { DEFAULT_UPLOAD_LIMIT, parseListen, serveUntilSignal } from './server.js';

interface Flags {
  coordinator?: string;
  listen: string;
  data?: string;
  token?: string;
  insecure?: boolean;
  tlsCa?: string;
  tls?: boolean;
  workDir?: string;
  bodyLimit: number;
  publicReads?: boolean;
  allowedHost: string[];
  uploadLimit: number;
  verbose?: boolean;
}

const program = withDashboardAccessFlags(
  new Command('kubemr-dashboard')
    .description('kubemr web dashboard and JSON API, talking to a coordinator over gRPC')
    .option('--coordinator <host:port>', 'coordinator address (default $KUBEMR_COORDINATOR or 127.0.0.1:7070)')
    .option('--listen <host:port>', 'address to serve HTTP on', '0.0.0.0:8081')
    .option('--data <dir>', 'the data volume (default $KUBEMR_DATA or /data)')
    .option('--token <token>', 'coordinator token, also required here for submit and cancel (default $KUBEMR_TOKEN)'),
)
  .option('--work-dir <dir>', 'relative inputs of jobs submitted here resolve against it (default: the data volume)')
  .option('--body-limit <size>', 'largest request body', sizeFlag('--body-limit'), 1024 * 1024)
  .option('--upload-limit <size>', 'largest file an upload (kubemr upload, PUT /api/files/inputs/...) may write', sizeFlag('--upload-limit'), DEFAULT_UPLOAD_LIMIT)
  .option('-v, --verbose', 'debug logging')
  .action(async (flags: Flags) => {
    try {
      const { host, port } = parseListen(flags.listen, '0.0.0.0');
      const dataDir = path.resolve(flags.data ?? process.env.KUBEMR_DATA ?? '/data');
      const token = flags.token ?? (process.env.KUBEMR_TOKEN || undefined);
      if (!token && !flags.insecure) throw noCredential('kubemr-dashboard', undefined);
      await serveUntilSignal(
        {
          coordinator: flags.coordinator ?? process.env.KUBEMR_COORDINATOR ?? '127.0.0.1:7070',
          token,
          tls: clientTls(flags),
          dataDir,
          host,
          port,
          publicReads: flags.publicReads ?? false,
          allowedHosts: flags.allowedHost,
          bodyLimit: flags.bodyLimit,
          uploadLimit: flags.uploadLimit,
          workDir: flags.workDir ? path.resolve(flags.workDir) : dataDir,
          logger: cliLogger(flags.verbose).child({ component: 'dashboard' }),
        },
        (line) => process.stderr.write(`${line.replace(/\?token=[^ ]+/, '?token=…')}\n`),
      );
    } catch (err) {
      exitWithError(err);
    }
  });

await program.parseAsync(process.argv);
