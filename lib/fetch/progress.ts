import type { FetchProgressEvent } from './options.js';

export interface ProgressRendererOptions {
  /** Receives raw text (no newline added). A CLI passes stderr's write. */
  write: (text: string) => void;
  /**
   * On a terminal one status line is redrawn in place; elsewhere (a Job's log) a line per file
   * and, for long transfers, a percentage every `intervalMs`.
   */
  tty: boolean;
  /** Least time between two redraws (tty) or two percentage lines (not tty). @default 100 on a tty, 10000 otherwise */
  intervalMs?: number;
  /** Terminal width; the status line is cut to fit so `\r` can redraw it. @default 80 */
  columns?: number;
  /** @default Date.now */
  now?: () => number;
}

export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n;
  let unit = 'B';
  for (const u of units) {
    if (v < 1000) break;
    v /= 1000;
    unit = u;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${unit}`;
}

/**
 * Turns progress events into text for a human. Log lines go through `line()` so they land
 * above the status line instead of through it.
 */
export class ProgressRenderer {
  private readonly write: (text: string) => void;
  private readonly tty: boolean;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly columns: number;
  private dataset = '';
  private files = 0;
  private done = 0;
  private totalBytes: number | undefined;
  /** Bytes of finished files plus bytes so far of those in flight. */
  private readonly inFlight = new Map<string, { received: number; total?: number; lastLine: number }>();
  private finishedBytes = 0;
  private shown = false;
  private lastDraw = 0;

  constructor(options: ProgressRendererOptions) {
    this.write = options.write;
    this.tty = options.tty;
    this.intervalMs = options.intervalMs ?? (options.tty ? 100 : 10_000);
    this.now = options.now ?? Date.now;
    this.columns = Math.max(20, options.columns ?? 80);
  }

  readonly onProgress = (event: FetchProgressEvent): void => {
    switch (event.type) {
      case 'start':
        this.dataset = event.dataset;
        this.files = event.files;
        this.totalBytes = event.totalBytes;
        this.redraw(true);
        return;
      case 'file-start':
        this.inFlight.set(event.file, { received: 0, lastLine: this.now() });
        this.redraw(true);
        return;
      case 'bytes': {
        const state = this.inFlight.get(event.file) ?? { received: 0, lastLine: this.now() };
        state.received = event.received;
        if (event.total !== undefined) state.total = event.total;
        this.inFlight.set(event.file, state);
        if (!this.tty && state.total && this.now() - state.lastLine >= this.intervalMs) {
          state.lastLine = this.now();
          const pct = Math.floor((100 * state.received) / state.total);
          this.line(`${event.file}: ${pct}% (${formatBytes(state.received)} of ${formatBytes(state.total)})`);
        }
        this.redraw(false);
        return;
      }
      case 'retry':
        this.inFlight.delete(event.file);
        this.redraw(true);
        return;
      case 'file-done':
      case 'file-failed':
        this.inFlight.delete(event.file);
        this.done++;
        if (event.type === 'file-done') this.finishedBytes += event.bytes;
        this.redraw(true);
        return;
    }
  };

  /** Prints a whole line (a log line) without tearing the status line. */
  line(text: string): void {
    this.clear();
    this.write(text.endsWith('\n') ? text : text + '\n');
    this.redraw(true);
  }

  /** Removes the status line; call before printing a summary or an error. */
  finish(): void {
    this.clear();
  }

  private clear(): void {
    if (this.tty && this.shown) {
      this.write('\r\x1b[K');
      this.shown = false;
    }
  }

  private redraw(force: boolean): void {
    if (!this.tty || this.files === 0) return;
    const now = this.now();
    if (!force && now - this.lastDraw < this.intervalMs) return;
    this.lastDraw = now;
    let bytes = this.finishedBytes;
    for (const s of this.inFlight.values()) bytes += s.received;
    const of = this.totalBytes !== undefined ? ` / ${formatBytes(this.totalBytes)}` : '';
    const names = [...this.inFlight.keys()].join(' ');
    const status = `fetch ${this.dataset}: ${this.done}/${this.files} files, ${formatBytes(bytes)}${of}${names ? `  ${names}` : ''}`;
    this.write(`\r\x1b[K${status.length < this.columns ? status : status.slice(0, this.columns - 2) + '…'}`);
    this.shown = true;
  }
}
