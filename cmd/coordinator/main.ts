#!/usr/bin/env node
/**
 * The coordinator as a long-running service (in the cluster, or on a machine): accepts jobs
 * over gRPC, starts their workers through an executor, resumes unfinished jobs from the data
 * directory's journals on start, and shuts down gracefully on SIGTERM.
 *
 *   node dist/cmd/coordinator/main.js --executor kubernetes --listen 0.0.0.0:7070 --http 0.0.0.0:8080 --data /data
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { Coordinator } from '../../lib/coordinator/coordinator.js';
import type { Executor } from '../../lib/executor/types.js';
import type { ResourceOwners } from '../../lib/operator/index.js';
import { startCoordinatorServer, stopServer } from '../../lib/protocol/server.js';
import { startHealthServer } from '../../lib/protocol/health.js';
import { checkServing, cliLogger, dataDir, exitWithError, listFlag, localToken, serverTls, sizeFlag, intFlag } from '../kubemr/common.js';

interface Flags {
  insecure?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  allowPlaintext?: boolean;
  drainMs: number;
  maxMessageBytes: number;
  listen: string;
  http?: string;
  data?: string;
  executor: 'local' | 'kubernetes' | 'external';
  advertise?: string;
  operator: boolean;
  workerStartTimeout: number;
  verbose?: boolean;
  appDir: string[];
  allowStreaming?: boolean;
  allowImage: string[];
  maxWorkers: number;
  maxWatches: number;
  maxWatchesPerConnection: number;
}

function hostPort(flag: string, value: string): { host: string; port: number } {
  const i = value.lastIndexOf(':');
  const port = Number(value.slice(i + 1));
  if (i < 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`Expected \`${flag}\` to be HOST:PORT, got \`${value}\``);
  }
  return { host: value.slice(0, i) || '0.0.0.0', port };
}

async function makeExecutor(flags: Flags, logger: ReturnType<typeof cliLogger>, owners: ResourceOwners | undefined): Promise<Executor> {
  const kind = flags.executor;
  if (kind === 'local') return new (await import('../../lib/executor/local.js')).LocalExecutor({ logger });
  if (kind === 'external') return new (await import('../../lib/executor/external.js')).ExternalExecutor();
  const { KubeConfig } = await import('@kubernetes/client-node');
  const { KubernetesExecutor } = await import('../../lib/executor/kubernetes.js');
  const { newIncarnation } = await import('../../lib/executor/kubernetes-objects.js');
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  const podName = process.env.KUBEMR_POD_NAME;
  const podUid = process.env.KUBEMR_POD_UID;
  const podOwner = podName && podUid ? [{ apiVersion: 'v1', kind: 'Pod', name: podName, uid: podUid, blockOwnerDeletion: false }] : [];
  return new KubernetesExecutor({
    kubeConfig,
    namespace: process.env.KUBEMR_NAMESPACE,
    incarnation: newIncarnation(podUid),
    image: process.env.KUBEMR_WORKER_IMAGE,
    // A MapReduceJob's workers belong to it (deleting it takes them along); others to this pod.
    ownerReferences: (jobId) => owners?.ownerReferences(jobId) ?? podOwner,
    workerStartTimeoutMs: flags.workerStartTimeout * 1000,
    logger,
  });
}

async function main(flags: Flags): Promise<void> {
  const logger = cliLogger(flags.verbose);
  const data = dataDir(flags.data);
  const listen = hostPort('--listen', flags.listen);
  // In the cluster the token comes from a Secret; on a machine, from the data directory.
  const token = flags.insecure ? undefined : process.env.KUBEMR_TOKEN || (flags.executor === 'kubernetes' ? undefined : localToken(data));
  if (!token && !flags.insecure) {
    throw new Error(`refusing to serve ${flags.listen} without a token: set KUBEMR_TOKEN (the kubemr-token Secret) or pass --insecure`);
  }
  const tls = serverTls(flags);
  checkServing({ listen: flags.listen, token, tls: tls !== undefined, allowPlaintext: flags.allowPlaintext, insecure: flags.insecure });
  // What the workers it starts trust: --tls-ca, or the certificate itself (self-signed).
  const tlsCaFile = flags.tlsCa ?? (process.env.KUBEMR_TLS_CA || undefined);
  const workerTlsCa = !tls ? undefined : tlsCaFile ? fs.readFileSync(tlsCaFile, 'utf8') : tls.cert.toString('utf8');
  const owners = flags.operator ? new (await import('../../lib/operator/index.js')).ResourceOwners(data) : undefined;
  const executor = await makeExecutor(flags, logger, owners);
  // In the cluster, jobs may only touch the shared volume.
  const coord = new Coordinator({ dataDir: data, executor, logger, token, workerTlsCa, confineTo: flags.executor === 'kubernetes' ? data : undefined, maxWorkersPerJob: flags.maxWorkers });
  // What clients may run: the bundled apps, modules under --app-dir, and what the flags allow;
  // hand-started (external) workers bring their own app, so a job may name none.
  const policy = { appDirs: flags.appDir.map((d) => path.resolve(d)), streaming: flags.allowStreaming ?? false, images: flags.allowImage, appless: flags.executor === 'external' };
  const grpcServer = await startCoordinatorServer(coord, `${listen.host}:${listen.port}`, {
    token,
    tls,
    logger,
    maxMessageBytes: flags.maxMessageBytes,
    policy,
    maxWatches: flags.maxWatches,
    maxWatchesPerConnection: flags.maxWatchesPerConnection,
  });
  const address = grpcServer.address;
  coord.advertise = flags.advertise ?? process.env.KUBEMR_ADVERTISE ?? address;
  await coord.start();
  let operator: { close(): Promise<void> } | undefined;
  if (flags.operator) {
    const { KubeConfig } = await import('@kubernetes/client-node');
    const { startOperator } = await import('../../lib/operator/index.js');
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromDefault();
    operator = await startOperator({ coordinator: coord, kubeConfig, namespace: process.env.KUBEMR_NAMESPACE, logger, owners, eventInstance: process.env.KUBEMR_POD_NAME });
  }
  let ready = true;
  const http = flags.http ? hostPort('--http', flags.http) : undefined;
  const health = http ? await startHealthServer(http.host, http.port, () => ready) : undefined;
  // Printed before the "listening" line, so whoever waits for that one knows both ports.
  if (http && health) process.stderr.write(`kubemr coordinator health on http://${http.host}:${health.port}\n`);
  process.stderr.write(`kubemr coordinator listening on ${address} (executor ${flags.executor}, data ${data})\n`);

  let stopping = false;
  const shutdown = async (sig: string) => {
    if (stopping) return;
    stopping = true;
    ready = false;
    logger.info('shutting down', { component: 'coordinator', signal: sig });
    // Report unready for a moment first, so a Service stops routing here before calls are refused.
    await new Promise((r) => setTimeout(r, flags.drainMs));
    // Unfinished jobs stay in their journals; the next coordinator on this data resumes them.
    await operator?.close();
    await stopServer(grpcServer, 5000);
    await coord.close();
    await health?.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

const program = new Command('kubemr-coordinator')
  .description('the kubemr coordinator service')
  .option('--listen <host:port>', 'gRPC address', '0.0.0.0:7070')
  .option('--http <host:port>', 'serve /healthz and /readyz here')
  .option('--data <dir>', 'data directory (default $KUBEMR_DATA or ./.kubemr)')
  .addOption(new Option('--executor <kind>', 'how workers are started').choices(['local', 'kubernetes', 'external']).default('local'))
  .option('--advertise <host:port>', 'the address workers dial (default $KUBEMR_ADVERTISE or the bound address)')
  .option('--operator', 'run the MapReduceJob resources of $KUBEMR_NAMESPACE as jobs (needs the CRD and a kubeconfig or in-cluster account)', false)
  .option(
    '--worker-start-timeout <seconds>',
    'with --executor kubernetes: fail a job none of whose worker pods has been running for this long (image pull errors, a missing Secret, no room on any node); the reason is in its status at once',
    intFlag('--worker-start-timeout', 1),
    300,
  )
  .option('--max-message-bytes <size>', 'largest gRPC message accepted or sent; larger ones get RESOURCE_EXHAUSTED', sizeFlag('--max-message-bytes'), 16 * 1024 * 1024)
  .option('--drain-ms <ms>', 'on SIGTERM, report unready this long before closing the gRPC server', intFlag('--drain-ms', 0), 1000)
  .option('--app-dir <dir>', 'clients may run app modules under this directory (repeatable; default: the bundled apps only)', listFlag, [])
  .option('--allow-streaming', 'clients may submit streaming jobs, whose commands run as shell commands on the workers')
  .option('--allow-image <image>', 'a worker image clients may name (repeatable; Kubernetes)', listFlag, [])
  .option('--max-workers <n>', 'most workers one job may ask for', intFlag('--max-workers', 1), 100)
  .option('--max-watches <n>', 'most WatchJob streams open at once', intFlag('--max-watches', 1), 1000)
  .option('--max-watches-per-connection <n>', 'most WatchJob streams open on one client connection', intFlag('--max-watches-per-connection', 1), 100)
  .option('--insecure', 'serve with no authentication at all (anyone who can reach the port can run jobs and commands as this process)')
  .option('--tls-cert <file>', 'serve TLS with this certificate chain (PEM; default $KUBEMR_TLS_CERT)')
  .option('--tls-key <file>', 'the private key of --tls-cert (PEM; default $KUBEMR_TLS_KEY)')
  .option('--tls-ca <file>', 'the CA the workers it starts trust (PEM; default $KUBEMR_TLS_CA, else --tls-cert itself)')
  .option('--allow-plaintext', 'serve a non-loopback address without TLS (the token then travels in clear)')
  .option('-v, --verbose', 'debug logging')
  .action(async (flags: Flags) => {
    try {
      await main(flags);
    } catch (err) {
      exitWithError(err);
    }
  });

program.configureOutput({ outputError: (text, write) => write(`kubemr-coordinator: ${text.replace(/^error: /, '')}`) });
await program.parseAsync(process.argv);
