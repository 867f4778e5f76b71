import type { Coordinator } from '../../lib/coordinator/coordinator.js';
import type { JobRecord } from '../../lib/coordinator/scheduler.js';

/** Job progress on stderr: a line that redraws on a terminal, a line per change otherwise. */
export function reportProgress(coordinator: Pick<Coordinator, 'subscribe'>, jobId: string, quiet: boolean): () => void {
  if (quiet) return () => undefined;
  const tty = process.stderr.isTTY === true;
  let last = '';
  let lastAt = 0;
  const line = (j: JobRecord) => {
    const maps = j.maps.filter((t) => t.state === 'done').length;
    const reduces = j.reduces.filter((t) => t.state === 'done').length;
    const running = [...j.maps, ...j.reduces].filter((t) => t.state === 'running').length;
    const secs = ((Date.now() - j.submittedAt) / 1000).toFixed(1);
    return `[${secs}s] ${j.id}: ${j.phase}  map ${maps}/${j.maps.length}  reduce ${reduces}/${j.reduces.length}  running ${running}`;
  };
  const unsubscribe = coordinator.subscribe((e) => {
    if (e.job.id !== jobId) return;
    const text = line(e.job);
    const key = text.replace(/^\[[^\]]*\] /, '');
    const now = Date.now();
    if (key === last || (!tty && e.type === 'task' && now - lastAt < 500 && e.job.phase !== 'succeeded')) return;
    last = key;
    lastAt = now;
    process.stderr.write(tty ? `\r\x1b[K${text}` : `${text}\n`);
  });
  return () => {
    unsubscribe();
    if (tty && last) process.stderr.write('\n');
  };
}
