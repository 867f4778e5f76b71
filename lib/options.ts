import { InvalidOptionError } from './errors.js';

/**
 * Checks for library option sets (Coordinator, Scheduler, worker, gRPC server, local executor):
 * each set is compiled once, in its constructor or entry function, by a `compile...Options`
 * function built from these, with messages naming the option and the bad value.
 */

const show = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : String(v));

/** `value` if it is an integer in [min, max], `fallback` if it is undefined; otherwise throws. */
export function intOption(option: string, value: unknown, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const bound = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `between ${min} and ${max}`;
    throw new InvalidOptionError(`Expected \`${option}\` to be an integer ${bound}, got \`${show(value)}\``, { option });
  }
  return value;
}

/** `value` if it is a finite number >= min, `fallback` if undefined; otherwise throws. */
export function numberOption(option: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new InvalidOptionError(`Expected \`${option}\` to be a number >= ${min}, got \`${show(value)}\``, { option });
  }
  return value;
}
