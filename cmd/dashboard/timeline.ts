import type { JobView, TaskView } from './model.js';

/**
 * The attempt timeline as an SVG string: one lane per worker, one bar per attempt, coloured by
 * how the attempt ended, each bar a link to that attempt's log. Drawn on the server so the
 * page is complete without script; the fixed viewBox scales with the page width.
 */
const W = 1000;
const LABEL = 150;
const LANE = 24;
const GAP = 6;
const TOP = 6;
const AXIS = 22;

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const NICE = [0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400];

function tickStep(spanS: number): number {
  return NICE.find((s) => spanS / s <= 8) ?? 3600 * 8;
}

export function fmtSeconds(s: number): string {
  if (s === 0) return '0';
  if (s < 1) return `${Math.round(s * 1000)}ms`;
  if (s < 60) return `${Number.isInteger(s) ? s : s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  const r = Math.round(s % 60);
  return r ? `${m}m${r}s` : `${m}m`;
}

/** `local-<job>-w0-0` reads as `w0-0`; pod names keep their distinguishing tail. */
export function shortWorker(id: string, jobId: string): string {
  for (const p of [`local-${jobId}-`, `kubemr-${jobId}-`, `${jobId}-`]) if (id.startsWith(p) && id.length > p.length) return id.slice(p.length);
  return id.length > 22 ? `…${id.slice(-21)}` : id;
}

export function timelineSvg(job: JobView, tasks: TaskView[], now = Date.now()): string {
  const bars = tasks.flatMap((t) => t.history.filter((a) => a.startedAt !== null).map((a) => ({ task: t, a })));
  if (bars.length === 0) return '';
  const workers: string[] = [];
  for (const b of [...bars].sort((x, y) => x.a.startedAt! - y.a.startedAt!)) if (!workers.includes(b.a.worker)) workers.push(b.a.worker);
  const t0 = Math.min(...bars.map((b) => b.a.startedAt!), job.startedAt ?? Infinity);
  const t1 = Math.max(...bars.map((b) => b.a.endedAt ?? (job.finished ? b.a.startedAt! : now)), job.finishedAt ?? 0, t0 + 100);
  const span = t1 - t0;
  const plotW = W - LABEL - 10;
  const x = (t: number) => LABEL + ((t - t0) / span) * plotW;
  const height = TOP + workers.length * (LANE + GAP) + AXIS;
  const out: string[] = [];
  out.push(`<svg class="timeline" viewBox="0 0 ${W} ${height}" width="100%" role="img" aria-label="Attempts per worker over time" xmlns="http://www.w3.org/2000/svg">`);
  const step = tickStep(span / 1000);
  const axisY = TOP + workers.length * (LANE + GAP);
  for (let s = 0; s * 1000 <= span + 1; s += step) {
    const tx = x(t0 + s * 1000);
    out.push(`<line class="tick" x1="${tx.toFixed(1)}" y1="${TOP}" x2="${tx.toFixed(1)}" y2="${axisY}"/>`);
    out.push(`<text class="tick-label" x="${tx.toFixed(1)}" y="${axisY + 15}" text-anchor="middle">${fmtSeconds(Math.round(s * 1000) / 1000)}</text>`);
  }
  workers.forEach((w, i) => {
    const y = TOP + i * (LANE + GAP);
    out.push(`<rect class="lane" x="${LABEL}" y="${y}" width="${plotW}" height="${LANE}" rx="3"/>`);
    out.push(`<text class="lane-label" x="${LABEL - 8}" y="${y + LANE / 2 + 4}" text-anchor="end"><title>${esc(w)}</title>${esc(shortWorker(w, job.id))}</text>`);
  });
  for (const { task, a } of bars) {
    const lane = workers.indexOf(a.worker);
    const y = TOP + lane * (LANE + GAP) + 2;
    const start = a.startedAt!;
    const end = a.endedAt ?? (a.state === 'running' && !job.finished ? now : start);
    const bx = x(start);
    const bw = Math.max(2, x(end) - bx);
    const label = `${task.id}${a.attempt > 1 ? ` #${a.attempt}` : ''}`;
    const tip = `${task.id} attempt ${a.attempt} on ${a.worker}: ${a.state}, ${fmtSeconds((end - start) / 1000)}${a.error ? ` — ${a.error}` : ''}`;
    const href = `/jobs/${encodeURIComponent(job.id)}/tasks/${task.id}/attempts/${a.attempt}`;
    out.push(`<a href="${esc(href)}" class="bar-link"><rect class="bar ${esc(a.state)} ${task.kind}" x="${bx.toFixed(1)}" y="${y}" width="${bw.toFixed(1)}" height="${LANE - 4}" rx="3"><title>${esc(tip)}</title></rect>`);
    if (bw > label.length * 6.6 + 8) out.push(`<text class="bar-label" x="${(bx + 5).toFixed(1)}" y="${y + LANE / 2 + 2}">${esc(label)}</text>`);
    out.push('</a>');
  }
  out.push('</svg>');
  return out.join('');
}
