import { fmtSeconds, shortWorker } from './timeline.js';

/** Small formatting helpers the templates share. */
export const helpers = {
  enc: encodeURIComponent,
  shortWorker,
  fmtDuration(ms: number | null | undefined): string {
    if (ms === null || ms === undefined) return '—';
    if (ms < 1000) return `${Math.round(ms)} ms`;
    return fmtSeconds(Math.round(ms / 100) / 10).replace(/(\d)(ms|s|m)/g, '$1 $2').replace(/m (\d)/, 'm $1');
  },
  fmtTime(ms: number | null | undefined): string {
    if (!ms) return '—';
    const d = new Date(ms);
    const pad = (n: number) => String(n).padStart(2, '0');
    const today = new Date();
    const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
    return d.toDateString() === today.toDateString() ? time : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}`;
  },
  isoTime(ms: number | null | undefined): string {
    return ms ? new Date(ms).toISOString() : '';
  },
  fmtBytes(n: number): string {
    if (n < 1024) return `${n} B`;
    const units = ['KiB', 'MiB', 'GiB', 'TiB'];
    let v = n / 1024;
    let i = 0;
    while (v >= 1024 && i < units.length - 1) {
      v /= 1024;
      i++;
    }
    return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
  },
  pct(p: number): string {
    return `${Math.round(p * 100)}%`;
  },
};
