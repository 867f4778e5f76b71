import crypto from 'node:crypto';
import fs from 'node:fs';
import { tempPathFor } from './layout.js';
import { writeError } from '../errors.js';

/**
 * Runs `fill` against a temp path beside `finalPath` (a name no output glob matches), then
 * renames the temp file into place, so readers see the whole file or none of it. On any error
 * the temp file is removed and the error passes on.
 */
export async function withTempFile<T>(finalPath: string, tag: string, fill: (tmp: string) => T | Promise<T>): Promise<T> {
  const tmp = tempPathFor(finalPath, tag);
  try {
    const result = await fill(tmp);
    fs.renameSync(tmp, finalPath);
    return result;
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw writeError(err, tmp);
  }
}

/** Writes a whole small file (a spec, a RESULT) under a temp name and renames it. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const tmp = tempPathFor(file, crypto.randomBytes(4).toString('hex'));
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw writeError(err, tmp);
  }
}
