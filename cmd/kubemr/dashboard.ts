import path from 'node:path';
import { Command } from 'commander';
import { DEFAULT_UPLOAD_LIMIT, serveUntilSignal } from '../dashboard/server.js';
import { cliLogger, clientTls, clientToken, dataDir, exitWithError, intFlag, noCredential, sizeFlag, withDashboardAccessFlags } from './common.js';

interface DashboardFlags {
  coordinator?: string;
  port: number;
  host: string;
  data?: string;
  token?: string;
  insecure?: boolean;
  tlsCa?: string;
  tls?: boolean;
  bodyLimit: number;
  publicReads?: boolean;
  allowedHost: string[];
  uploadLimit: number;
  verbose?: boolean;
}

/** `kubemr dashboard`: the web UI for a coordinator that runs elsewhere (kubemr coordinator, a cluster). */
export function dashboardCommand(): Command {
  return withDashboardAccessFlags(
    new Command('dashboard')
      .description('serve the web dashboard and JSON API for a running coordinator')
      .option('--coordinator <host:port>', 'coordinator address (default $KUBEMR_COORDINATOR or 127.0.0.1:7070)')
      .option('--port <N>', 'HTTP port (0 picks one)', intFlag('--port', 0), 8081)
      .option('--host <host>', 'interface to bind; anything but loopback exposes it to the network', '127.0.0.1')
      .option('--data <dir>', 'data directory with job logs and results (default $KUBEMR_DATA or ./.kubemr)')
      .option('--token <token>', 'token (default $KUBEMR_TOKEN or the data directory\'s token file); required for submit and cancel'),
  )
    .option('--body-limit <size>', 'largest request body', sizeFlag('--body-limit'), 1024 * 1024)
    .option('--upload-limit <size>', 'largest file an upload (kubemr upload) may write', sizeFlag('--upload-limit'), DEFAULT_UPLOAD_LIMIT)
    .option('-v, --verbose', 'debug logging')
    .action(async (flags: DashboardFlags) => {
      try {
        const data = dataDir(flags.data);
        const token = clientToken(flags.token, flags.data);
        if (!token && !flags.insecure) throw noCredential('kubemr dashboard', data);
        await serveUntilSignal(
          {
            coordinator: flags.coordinator ?? process.env.KUBEMR_COORDINATOR ?? '127.0.0.1:7070',
            token,
            tls: clientTls(flags),
            dataDir: data,
            host: flags.host,
            publicReads: flags.publicReads ?? false,
            allowedHosts: flags.allowedHost,
            port: flags.port,
            bodyLimit: flags.bodyLimit,
            uploadLimit: flags.uploadLimit,
            workDir: path.resolve(process.cwd()),
            logger: cliLogger(flags.verbose),
          },
          (line) => process.stderr.write(`${line}\n`),
        );
      } catch (err) {
        exitWithError(err);
      }
    });
}
