import type { Combine } from './fold.js';

/**
 * Map-side aggregation as pairs arrive: a key's values are folded by the combiner in a hash
 * table while `map`'s pairs stream in, so a key that occurs a million times reaches the sort
 * buffer as one pair, not a million. The table is bounded: past `limitBytes` (an estimate of
 * its heap) every key's folded value goes on to `emit` (the sort buffer) and the table starts
 * again. The buffer combines what several flushes sent for one key, so the result is the one
 * combining after the sort would give; a key's values reach the combiner in arrival order.
 */
export class CombineTable {
  private readonly table = new Map<string, Pending>();
  private bytes = 0;

  constructor(
    private readonly combine: Combine,
    private readonly emit: (key: string, value: string) => void,
    private readonly limitBytes: number,
  ) {}

  add(key: string, value: string): void {
    const e = this.table.get(key);
    if (e === undefined) {
      this.table.set(key, { values: [value], n: 1 });
      this.bytes += ENTRY_BYTES + 2 * (key.length + value.length);
      if (this.bytes > this.limitBytes) this.flush();
      return;
    }
    const values = e.values;
    // The array keeps its length once grown: a slot past n is overwritten, never pushed.
    if (e.n < values.length) values[e.n++] = value;
    else if (e.n < FOLD_AT) {
      values.push(value);
      e.n++;
    } else {
      let freed = 0;
      for (const v of values) freed += VALUE_BYTES + 2 * v.length;
      const folded = this.combine(key, values);
      values[0] = folded;
      values[1] = value;
      e.n = 2;
      this.bytes += 2 * VALUE_BYTES + 2 * (folded.length + value.length) - freed;
      return;
    }
    this.bytes += VALUE_BYTES + 2 * value.length;
  }

  /** Hands every key's folded value to `emit` and empties the table. */
  flush(): void {
    for (const [key, e] of this.table) {
      if (e.n === 1) this.emit(key, e.values[0]!);
      else {
        e.values.length = e.n;
        this.emit(key, this.combine(key, e.values));
      }
    }
    this.table.clear();
    this.bytes = 0;
  }
}

/** A key's values not yet folded: values[0, n); slots past n are stale. */
interface Pending {
  values: string[];
  n: number;
}

/** Values held per key before the combiner folds them: fewer calls, a small array per key. */
const FOLD_AT = 64;
/** Estimated heap of a new key (hash slot, pending record, array, string headers), and of one more value. */
const ENTRY_BYTES = 120;
const VALUE_BYTES = 24;
