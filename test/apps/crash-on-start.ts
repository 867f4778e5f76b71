/** Registers fine when the CLI checks it, but every worker process dies on start. */
import { registerApp } from 'kubemr/app';

if (process.argv.includes('worker')) {
  process.stderr.write('cannot open the model file\n');
  process.exit(3);
}
registerApp({ map: () => [], reduce: () => '' });
