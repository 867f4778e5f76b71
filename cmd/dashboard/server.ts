import type { Executor } from '../../lib/executor/types.js';

export interface DashboardOptions {
  coordinator: string;
  token?: string | undefined;
  dataDir: string;
  executor?: Executor | undefined;
  host: string;
  port: number;
}

/** Replaced by the dashboard's own issue; until then --dashboard says it is not available. */
export async function startDashboard(_options: DashboardOptions): Promise<{ url: string; close(): Promise<void> }> {
  throw new Error('the dashboard is not part of this build yet');
}
