// The crash app as its own worker process: the explicit `kubemr/worker` entry, no kubemr CLI.
import './crash-app.js';
import { startWorkerFromEnv } from 'kubemr/worker';

await startWorkerFromEnv();
