import { Command, CommanderError } from 'commander';
import { EXIT, EXIT_CODES_HELP, exitWithError } from './common.js';

/**
 * Runs `kubemr` with these subcommands on process.argv: usage errors read like every other
 * error (`kubemr: <what is wrong>`, exit code 2; commander's own is 1, the code of a failed job).
 */
export async function runProgram(commands: Command[]): Promise<void> {
  const program = new Command('kubemr')
    .description('MapReduce for TypeScript: run an App on this machine or on Kubernetes')
    .version('0.1.0')
    .showHelpAfterError()
    .addHelpText('after', EXIT_CODES_HELP);
  for (const c of commands) program.addCommand(c);
  const output = { outputError: (text: string, write: (s: string) => void) => write(`kubemr: ${text.replace(/^error: /, '')}`) };
  const exit = (err: CommanderError) => process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage);
  for (const c of [program, ...program.commands]) c.configureOutput(output).exitOverride(exit);
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    // A subcommand that throws instead of choosing its own exit (fetch) ends here.
    exitWithError(err);
  }
}
