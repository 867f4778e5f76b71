/**
 * The dashboard in a real browser (playwright-core + Debian's Chromium) against a real
 * coordinator and real worker processes. Screenshots go to test-results/screenshots/.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { corpusFiles, REPO, requireBuild, startHarness, uniqueJobId, type Harness } from './support/dashboard-harness.js';

const CHROMIUM = process.env.KUBEMR_CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = path.join(REPO, 'test-results', 'screenshots');

let browser: Browser;
let h: Harness | undefined;

beforeAll(async () => {
  requireBuild();
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`Chromium is missing at ${CHROMIUM}: install it (apt-get update && apt-get install -y chromium) or set KUBEMR_CHROMIUM`);
  }
  fs.mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
afterAll(async () => {
  await browser?.close();
});
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function openPage(url: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    // The form's deliberate 400 shows up as a failed resource load; anything else is a bug.
    if (m.type() === 'error' && !/ERR_ABORTED|net::ERR_|status of 400/.test(m.text())) errors.push(m.text());
  });
  (page as Page & { jsErrors: string[] }).jsErrors = errors;
  await page.goto(url);
  return page;
}
const jsErrors = (p: Page): string[] => (p as Page & { jsErrors: string[] }).jsErrors;

async function submitApi(hh: Harness, body: object): Promise<void> {
  const res = await fetch(`${hh.origin}/api/jobs`, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${hh.token}` }, body: JSON.stringify(body) });
  if (res.status !== 201) throw new Error(`submit: ${res.status} ${await res.text()}`);
}

describe('dashboard in a browser', () => {
  it('shows a running job\'s progress moving without a reload, then its timeline', async () => {
    h = await startHarness();
    const id = uniqueJobId('live');
    await submitApi(h, { app: 'wordcount', inputs: corpusFiles(), reducers: 4, workers: 2, splitBytes: 48 * 1024, jobId: id });
    const page = await openPage(`${h.origin}/jobs/${id}`);
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
    const progress = page.locator('#job-progress');
    const first = Number(await progress.getAttribute('aria-valuenow'));
    await expect.poll(async () => Number(await page.locator('#job-progress').getAttribute('aria-valuenow')), { timeout: 20_000 }).toBeGreaterThan(first);
    await page.screenshot({ path: path.join(SHOTS, 'job-running.png'), fullPage: true });
    await expect.poll(() => page.locator('#job-phase').textContent(), { timeout: 30_000 }).toBe('succeeded');
    // Still the same document: updated through server-sent events, not reloaded.
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
    expect(await page.locator('#job-progress').getAttribute('aria-valuenow')).toBe('100');
    expect(await page.locator('svg.timeline rect.bar').count()).toBeGreaterThan(10);
    expect(await page.locator('table.tasks tbody tr').count()).toBeGreaterThan(10);
    await page.screenshot({ path: path.join(SHOTS, 'job-succeeded.png'), fullPage: true });
    const jobs = await openPage(`${h.origin}/`);
    await expect.poll(() => jobs.locator(`tr[data-job="${id}"] .pill`).textContent()).toBe('succeeded');
    await jobs.screenshot({ path: path.join(SHOTS, 'jobs.png'), fullPage: true });
    expect(jsErrors(page)).toEqual([]);
  });

  it('submits a job from the form and sees it finish', async () => {
    h = await startHarness();
    const page = await openPage(h.dashboard.url);
    expect(new URL(page.url()).search).toBe('');
    await page.fill('input[name=app]', 'wordcount');
    await page.fill('textarea[name=inputs]', corpusFiles().slice(0, 4).join('\n'));
    await page.fill('input[name=reducers]', '3');
    await page.fill('input[name=workers]', '2');
    await page.screenshot({ path: path.join(SHOTS, 'submit-form.png'), fullPage: true });
    await page.click('button[type=submit]');
    await page.waitForURL(/\/jobs\/[a-z0-9-]+$/, { timeout: 10_000 });
    await expect.poll(() => page.locator('#job-phase').textContent(), { timeout: 30_000 }).toBe('succeeded');
    expect(await page.locator('#results .files li').count()).toBe(3);
    // A bad value comes back as the API's message, shown beside the form.
    await page.goto(`${h.origin}/`);
    await page.fill('textarea[name=inputs]', 'a.txt');
    await page.fill('input[name=reducers]', '0');
    await page.click('button[type=submit]');
    await expect.poll(() => page.locator('#submit-status').textContent()).toMatch(/`reducers`.*got `0`/);
    await page.screenshot({ path: path.join(SHOTS, 'submit-error.png'), fullPage: true });
    expect(jsErrors(page)).toEqual([]);
  });

  it('opens a worker\'s log and an attempt\'s log, and downloads a result file byte for byte', async () => {
    h = await startHarness();
    const id = uniqueJobId('logs');
    await submitApi(h, { app: 'wordcount', inputs: corpusFiles().slice(0, 3), reducers: 2, workers: 2, jobId: id });
    const page = await openPage(`${h.origin}/jobs/${id}`);
    await expect.poll(() => page.locator('#job-phase').textContent(), { timeout: 30_000 }).toBe('succeeded');
    await page.screenshot({ path: path.join(SHOTS, 'job-small.png'), fullPage: true });

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-download="mr-out-1"]')]);
    const saved = path.join(h.dir, 'downloaded');
    await download.saveAs(saved);
    expect(fs.readFileSync(saved).equals(fs.readFileSync(path.join(h.dataDir, 'jobs', id, 'output', 'mr-out-1')))).toBe(true);

    // A worker that ran at least one attempt (with two workers, one may have found nothing left to do).
    await page.locator('.workers-list li').filter({ hasNotText: /· 0 attempts/ }).first().locator('a').click();
    await page.waitForURL(/\/workers\//);
    await expect.poll(() => page.locator('#log-status').textContent(), { timeout: 10_000 }).toMatch(/complete|ended/);
    expect(await page.locator('#log').textContent()).toMatch(/task (started|done)/);
    await page.screenshot({ path: path.join(SHOTS, 'worker-log.png'), fullPage: true });

    await page.click('table.compact tbody tr:first-child a');
    await page.waitForURL(/\/attempts\/1$/);
    await expect.poll(() => page.locator('#log').textContent(), { timeout: 10_000 }).toMatch(/start (map|reduce) task \d+ attempt 1/);
    await page.screenshot({ path: path.join(SHOTS, 'attempt-log.png'), fullPage: true });

    await page.goto(`${h.origin}/jobs/${id}/results/mr-out-0`);
    const preview = (await page.locator('pre.preview').textContent())!;
    expect(preview.length).toBeGreaterThan(1000);
    expect(fs.readFileSync(path.join(h.dataDir, 'jobs', id, 'output', 'mr-out-0'), 'utf8').startsWith(preview.slice(0, -1))).toBe(true);
    await page.screenshot({ path: path.join(SHOTS, 'result-preview.png') });
    await page.goto(`${h.origin}/workers`);
    await page.screenshot({ path: path.join(SHOTS, 'workers.png'), fullPage: true });
    expect(jsErrors(page)).toEqual([]);
  });

  it('shows why a job failed', async () => {
    h = await startHarness();
    const id = uniqueJobId('boom');
    await submitApi(h, { streaming: { mapper: 'echo "cannot parse record 17" >&2; exit 3', reducer: 'cat' }, inputs: corpusFiles().slice(0, 2), reducers: 1, workers: 1, maxAttempts: 2, jobId: id });
    const page = await openPage(`${h.origin}/jobs/${id}`);
    await expect.poll(() => page.locator('#job-phase').textContent(), { timeout: 30_000 }).toBe('failed');
    expect(await page.locator('#failure').textContent()).toMatch(/Why it failed/);
    await page.screenshot({ path: path.join(SHOTS, 'job-failed.png'), fullPage: true });
  });
});
