import { InvalidOptionError } from '../errors.js';

/** A bad option of the Kubernetes side (executor, operator): names the field and the value. */
export function fail(field: string, expected: string, value: unknown): never {
  throw new InvalidOptionError(`Expected \`${field}\` to be ${expected}, got \`${JSON.stringify(value)}\``, { option: field });
}
