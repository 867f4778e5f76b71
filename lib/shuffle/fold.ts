/** A combiner: folds some of a key's values into one. Associative, so partial results fold again. */
export type Combine = (key: string, values: string[]) => string;

/** Values handed to the combiner at once; partial results are combined again (a combiner is associative). */
export const COMBINE_BATCH = 1024;

/** Folds values in batches, so a key with millions of values never holds them all as strings. */
export function foldInto(combine: Combine, key: string, acc: string[]): void {
  if (acc.length >= COMBINE_BATCH) {
    const folded = combine(key, acc);
    acc.length = 0;
    acc.push(folded);
  }
}
