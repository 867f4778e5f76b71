/**
 * An injected logger. Every component logs with the same fields: `component`, `job`, `task`,
 * `attempt`, `worker`. Library code never writes to the console directly.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = {
  component?: string;
  job?: string;
  task?: string;
  attempt?: number;
  worker?: string;
  [key: string]: unknown;
};

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface ConsoleLoggerOptions {
  /** @default 'info' */
  level?: LogLevel;
  /** One JSON object per line instead of `level message k=v`. @default false */
  json?: boolean;
  /** Where lines go. @default process.stderr */
  write?: (line: string) => void;
}

// Taken when this module loads: while a worker runs a task, process.stderr.write is pointed at the
// attempt's log (lib/worker/attempt-log.ts) for user code's output; the worker's own lines stay
// in the worker's log.
const stderrWrite = process.stderr.write.bind(process.stderr);

export function createLogger(options: ConsoleLoggerOptions = {}, base: LogFields = {}): Logger {
  const level = ORDER[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => stderrWrite(line + '\n'));
  const emit = (lvl: LogLevel, message: string, fields?: LogFields) => {
    if (ORDER[lvl] < level) return;
    const all = { ...base, ...fields };
    if (options.json) {
      write(JSON.stringify({ time: new Date().toISOString(), level: lvl, message, ...all }));
      return;
    }
    const kv = Object.entries(all)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`)
      .join(' ');
    write(`${new Date().toISOString()} ${lvl.padEnd(5)} ${message}${kv ? ' ' + kv : ''}`);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger(options, { ...base, ...fields }),
  };
}

/** A logger that drops everything; the default where none is injected. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};
