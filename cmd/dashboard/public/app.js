// kubemr dashboard: live updates over server-sent events, the submit form, log following.
// Pages are rendered on the server; on each event a page re-fetches its live fragment.
'use strict';

function connBanner(connected) {
  const el = document.getElementById('conn');
  if (el) el.hidden = connected;
}

function liveRegions() {
  for (const region of document.querySelectorAll('[data-live]')) {
    const fragmentUrl = region.dataset.live;
    const events = new EventSource(region.dataset.events);
    let pending = null;
    let inflight = false;
    let again = false;
    const refresh = async () => {
      if (inflight) { again = true; return; }
      inflight = true;
      try {
        const res = await fetch(fragmentUrl, { headers: { Accept: 'text/html' } });
        if (res.ok) {
          const open = new Set([...region.querySelectorAll('details[open]')].map((d, i) => i));
          region.innerHTML = await res.text();
          [...region.querySelectorAll('details')].forEach((d, i) => { if (open.has(i)) d.open = true; });
          document.dispatchEvent(new CustomEvent('kubemr:refreshed'));
        }
      } catch { /* the next event retries */ }
      inflight = false;
      if (again) { again = false; schedule(); }
    };
    const schedule = () => {
      if (pending) return;
      pending = setTimeout(() => { pending = null; refresh(); }, 200);
    };
    for (const type of ['submitted', 'phase', 'task', 'finished']) events.addEventListener(type, schedule);
    events.addEventListener('status', (e) => {
      const s = JSON.parse(e.data);
      connBanner(s.connected);
      if (s.connected) schedule();
    });
    events.onerror = () => connBanner(false);
    // Workers come and go without a job event (a process exits after its last task): while the
    // page shows something unfinished, refresh now and then as well.
    if (region.dataset.finished !== 'true') {
      setInterval(() => { if (!document.hidden) schedule(); }, 3000);
    }
    events.onopen = () => connBanner(true);
    window.addEventListener('beforeunload', () => events.close());
  }
}

async function apiError(res) {
  try {
    const body = await res.json();
    return body.error?.message ?? `HTTP ${res.status}`;
  } catch {
    return `HTTP ${res.status}`;
  }
}

function submitForm() {
  const form = document.getElementById('submit-form');
  if (!form) return;
  const status = document.getElementById('submit-status');
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const fd = new FormData(form);
    const body = {
      app: String(fd.get('app') ?? '').trim(),
      inputs: String(fd.get('inputs') ?? '').split('\n').map((s) => s.trim()).filter(Boolean),
    };
    for (const k of ['reducers', 'workers']) {
      const v = String(fd.get(k) ?? '').trim();
      if (v) body[k] = Number(v);
    }
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    status.className = 'form-status';
    status.textContent = 'Submitting…';
    try {
      const token = String(fd.get('token') ?? '').trim();
      if (token) {
        const s = await fetch('/api/session', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token }) });
        if (!s.ok) throw new Error(await apiError(s));
      }
      const res = await fetch('/api/jobs', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      if (!res.ok) throw new Error(await apiError(res));
      const { job } = await res.json();
      status.className = 'form-status ok';
      status.textContent = `Submitted ${job.id}`;
      location.href = `/jobs/${encodeURIComponent(job.id)}`;
    } catch (err) {
      status.className = 'form-status error';
      status.textContent = err.message;
      button.disabled = false;
    }
  });
}

function cancelButtons() {
  document.addEventListener('click', async (e) => {
    const btn = e.target.closest('[data-cancel]');
    if (!btn) return;
    if (!confirm(`Cancel job ${btn.dataset.cancel}?`)) return;
    btn.disabled = true;
    const res = await fetch(`/api/jobs/${encodeURIComponent(btn.dataset.cancel)}`, { method: 'DELETE' });
    if (!res.ok) {
      alert(await apiError(res));
      btn.disabled = false;
    }
  });
}

async function followLog() {
  const pre = document.getElementById('log');
  if (!pre) return;
  const status = document.getElementById('log-status');
  const follow = pre.dataset.follow === 'true';
  status.textContent = follow ? 'following' : 'loading…';
  status.classList.toggle('live', follow);
  try {
    const res = await fetch(pre.dataset.src);
    if (!res.ok) {
      pre.textContent = await apiError(res);
      status.textContent = 'not available';
      status.classList.remove('live');
      return;
    }
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const atBottom = pre.scrollHeight - pre.scrollTop - pre.clientHeight < 24;
      pre.append(decoder.decode(value, { stream: true }));
      if (atBottom) pre.scrollTop = pre.scrollHeight;
    }
    status.textContent = follow ? 'ended' : 'complete';
  } catch {
    status.textContent = 'connection lost';
  }
  status.classList.remove('live');
}

document.addEventListener('DOMContentLoaded', () => {
  liveRegions();
  submitForm();
  cancelButtons();
  followLog();
});
