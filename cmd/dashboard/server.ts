import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ejs from 'ejs';
import express from 'express';
import { KubemrClient } from '../../lib/protocol/client.js';
import { InvalidJobSpecError } from '../../lib/errors.js';
import type { Executor } from '../../lib/executor/types.js';
import { silentLogger, type Logger } from '../../lib/logger.js';
import { apiRouter } from './api.js';
import { Auth } from './auth.js';
import { DashboardBackend } from './backend.js';
import { EventHub } from './events.js';
import { StreamLimits } from './streams.js';
import { apiErrorHandler, NotFoundError } from './http-errors.js';
import { pageErrorHandler, pagesRouter } from './pages.js';
import { isLoopbackHost, LOOPBACK_NAMES } from '../../lib/protocol/loopback.js';

export interface DashboardOptions {
  /** Coordinator gRPC address, host:port. */
  coordinator: string;
  /**
   * Token the coordinator requires, and that submit/cancel require here. With a token, the
   * returned `url` carries `?token=` so opening it signs the browser in.
   */
  token?: string | undefined;
  /** Dial the coordinator with TLS (see ClientOptions.tls). */
  tls?: { ca?: Buffer | undefined } | undefined;
  /** The data volume: attempt logs and result files are read from it. */
  dataDir: string;
  /** Local mode: the executor whose list/logs show the workers. */
  executor?: Executor | undefined;
  /** Interface to bind. Local mode binds loopback only. @default '127.0.0.1' */
  host: string;
  /** Port; 0 picks a free one. */
  port: number;
  /** Largest request body accepted, in bytes; larger is 413. @default 1 MiB */
  bodyLimit?: number;
  /** Largest file `PUT /api/files/inputs/...` may write, in bytes; larger is 413. @default 1 GiB */
  uploadLimit?: number;
  /** Relative inputs of jobs submitted from the form resolve against it. @default process.cwd() */
  workDir?: string;
  /**
   * Serve reads (pages, GETs under /api, event streams) without the credential even beyond
   * loopback. On loopback they are always open. @default false
   */
  publicReads?: boolean;
  /**
   * Host names (the `Host` header, port aside) requests may carry besides the loopback names and
   * the bound address; anything else is 403, so a DNS-rebound page cannot talk to the dashboard.
   * @default a loopback dashboard answers only its loopback names; one beyond loopback any name
   * (its reads need the credential there) unless names are given
   */
  allowedHosts?: readonly string[];
  /** Open event streams and followed logs in all; one more is 503. @default 100 */
  maxStreams?: number;
  /** Open event streams and followed logs of one client address; one more is 429. @default 8 */
  maxStreamsPerClient?: number;
  logger?: Logger;
}

export interface Dashboard {
  /** What to open: the origin, plus `/?token=` when a token is configured. */
  url: string;
  /** The bare origin, http://host:port. */
  origin: string;
  port: number;
  close(): Promise<void>;
}

/** The package root (where package.json is), from src (cmd/dashboard) or dist (dist/cmd/dashboard). */
function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'cmd', 'dashboard', 'views'))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error('kubemr dashboard: cannot find cmd/dashboard/views beside package.json');
}

/** Views and assets are not compiled; they are read from the source tree, from src or dist alike. */
export const ASSETS = (() => {
  const root = packageRoot();
  return { views: path.join(root, 'cmd', 'dashboard', 'views'), public: path.join(root, 'cmd', 'dashboard', 'public') };
})();

/** Largest file an upload may write unless the dashboard is told otherwise (`--upload-limit`). */
export const DEFAULT_UPLOAD_LIMIT = 1024 ** 3;


/** `Host: name:port` or `[v6]:port` -> the name, lower case. */
function hostName(header: string | undefined): string {
  const h = (header ?? '').trim().toLowerCase();
  const v6 = /^\[([^\]]*)\](?::\d+)?$/.exec(h);
  if (v6) return v6[1]!;
  return h.replace(/:\d+$/, '');
}

/** The host names requests may carry, or undefined for any. */
function servedNames(options: Pick<DashboardOptions, 'host' | 'allowedHosts'>): Set<string> | undefined {
  const given = (options.allowedHosts ?? []).map((h) => hostName(h));
  if (!isLoopbackHost(options.host) && given.length === 0) return undefined;
  const names = new Set([...LOOPBACK_NAMES, ...given]);
  if (options.host !== '0.0.0.0' && options.host !== '::') names.add(options.host.toLowerCase());
  return names;
}

export function createDashboardApp(options: DashboardOptions & { client: KubemrClient; hub: EventHub }): express.Express {
  const logger = (options.logger ?? silentLogger).child({ component: 'dashboard' });
  const bodyLimit = options.bodyLimit ?? 1024 * 1024;
  const workDir = path.resolve(options.workDir ?? process.cwd());
  // Reads are open on loopback, and beyond it only when asked for.
  const auth = new Auth(options.token, isLoopbackHost(options.host) || (options.publicReads ?? false));
  const streams = new StreamLimits(options.maxStreams ?? 100, options.maxStreamsPerClient ?? 8);
  const names = servedNames(options);
  const backend = new DashboardBackend({ client: options.client, dataDir: options.dataDir, executor: options.executor, logger });
  // local: workers are this machine's processes; otherwise what the attempts and the volume tell.
  const mode = options.executor?.kind === 'local' ? 'local' : options.executor ? options.executor.kind : 'remote';

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.engine('ejs', (file, data, cb) => ejs.renderFile(file, data as ejs.Data, {}, cb as (err: Error | null, html?: string) => void));
  app.set('view engine', 'ejs');
  app.set('views', ASSETS.views);
  app.use((_req, res, next) => {
    res.set({ 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer', 'X-Frame-Options': 'DENY' });
    next();
  });
  app.get('/healthz', (_req, res) => {
    res.json({ ok: true, coordinator: options.coordinator, connected: options.hub.connected });
  });
  // DNS rebinding: a page of another site whose name now points here carries that name.
  app.use((req, res, next) => {
    if (!names || names.has(hostName(req.headers.host))) return next();
    res.status(403).type('text/plain').send(`Host \`${String(req.headers.host ?? '')}\` is not a name this dashboard serves (${[...names].join(', ')}); --allowed-host adds one\n`);
  });
  app.use('/static', express.static(ASSETS.public, { index: false, dotfiles: 'deny', maxAge: '1m' }));
  const files = { dataDir: options.dataDir, maxFileBytes: options.uploadLimit ?? DEFAULT_UPLOAD_LIMIT };
  app.use('/api', apiRouter({ backend, hub: options.hub, auth, bodyLimit, workDir, files, streams }), apiErrorHandler(logger, bodyLimit));
  const pctx = { backend, hub: options.hub, auth, mode, coordinator: options.coordinator, workDir } as const;
  app.use(
    (_req, res, next) => {
      res.set('Content-Security-Policy', "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'");
      next();
    },
    auth.login(),
    auth.requireRead(),
    pagesRouter(pctx),
  );
  app.use((req) => {
    throw new NotFoundError(`No page at ${req.path}`);
  });
  app.use(pageErrorHandler(pctx, bodyLimit));
  return app;
}

/** Serves the dashboard until `close()`; talks to the coordinator only through gRPC. */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const logger = (options.logger ?? silentLogger).child({ component: 'dashboard' });
  const client = new KubemrClient({ address: options.coordinator, token: options.token, tls: options.tls });
  const hub = new EventHub(client, logger);
  hub.start();
  const app = createDashboardApp({ ...options, client, hub });
  const server = http.createServer(app);
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host === '0.0.0.0' ? '127.0.0.1' : options.host;
  const origin = `http://${host}:${port}`;
  if (!isLoopbackHost(options.host)) logger.info('dashboard listening beyond loopback', { host: options.host, port });
  let closed = false;
  return {
    url: options.token ? `${origin}/?token=${encodeURIComponent(options.token)}` : `${origin}/`,
    origin,
    port,
    async close() {
      if (closed) return;
      closed = true;
      hub.close();
      // Event streams and followed logs never end on their own.
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      client.close();
    },
  };
}

/** For mains: serve until SIGINT/SIGTERM, then close cleanly. */
export async function serveUntilSignal(options: DashboardOptions, write: (line: string) => void): Promise<void> {
  const d = await startDashboard(options);
  write(`kubemr dashboard on ${d.url} (coordinator ${options.coordinator}, data ${options.dataDir})`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await d.close();
}

/** host:port, [v6]:port or a bare port -> { host, port }. */
export function parseListen(value: string, defaultHost: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(value) ?? /^()()(\d+)$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidJobSpecError(`Expected \`--listen\` to be HOST:PORT, got \`${value}\``);
  }
  return { host: m[1] || m[2] || defaultHost, port };
}
