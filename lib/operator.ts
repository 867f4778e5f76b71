import type { KubeConfig } from '@kubernetes/client-node';
import type { Coordinator } from './coordinator.js';
import type { Logger } from './logger.js';

export interface OperatorOptions {
  coordinator: Coordinator;
  kubeConfig: KubeConfig;
  namespace?: string | undefined;
  logger?: Logger;
}

/** Runs MapReduceJob resources as jobs; written in its own change. */
export async function startOperator(_options: OperatorOptions): Promise<{ close(): Promise<void> }> {
  throw new Error('the MapReduceJob operator is not available in this build');
}
