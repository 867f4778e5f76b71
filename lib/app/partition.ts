const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * The default partitioner: FNV-1a 32-bit over the key's UTF-8 bytes, `& 0x7fffffff`, modulo
 * the number of reducers. The same function as the MIT 6.5840 lab's `ihash`, so a key lands in
 * the same partition as there.
 */
export function fnv1a32(key: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < key.length; i++) {
    let c = key.charCodeAt(i);
    if (c < 0x80) {
      h = Math.imul(h ^ c, FNV_PRIME);
      continue;
    }
    // Hash the UTF-8 encoding without allocating a Buffer per key.
    if (c < 0x800) {
      h = Math.imul(h ^ (0xc0 | (c >> 6)), FNV_PRIME);
    } else {
      if (c >= 0xd800 && c < 0xdc00 && i + 1 < key.length) {
        const d = key.charCodeAt(i + 1);
        if (d >= 0xdc00 && d < 0xe000) {
          i++;
          const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          h = Math.imul(h ^ (0xf0 | (cp >> 18)), FNV_PRIME);
          h = Math.imul(h ^ (0x80 | ((cp >> 12) & 0x3f)), FNV_PRIME);
          h = Math.imul(h ^ (0x80 | ((cp >> 6) & 0x3f)), FNV_PRIME);
          h = Math.imul(h ^ (0x80 | (cp & 0x3f)), FNV_PRIME);
          continue;
        }
      }
      // A lone surrogate encodes as U+FFFD, as Buffer.from(key) would.
      if (c >= 0xd800 && c < 0xe000) c = 0xfffd;
      h = Math.imul(h ^ (0xe0 | (c >> 12)), FNV_PRIME);
      h = Math.imul(h ^ (0x80 | ((c >> 6) & 0x3f)), FNV_PRIME);
    }
    h = Math.imul(h ^ (0x80 | (c & 0x3f)), FNV_PRIME);
  }
  return h >>> 0;
}

/** FNV-1a 32 over `bytes[start, end)`: equal to fnv1a32 of the string those bytes encode in UTF-8. */
export function fnv1a32Bytes(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let h = FNV_OFFSET;
  for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i]!, FNV_PRIME);
  return h >>> 0;
}

/** FNV-1a 32 over a latin1 string, one char per byte (streaming keys travel this way). */
export function fnv1a32Latin1(key: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), FNV_PRIME);
  return h >>> 0;
}

/** A hash's partition: the lab's `ihash(key) % nReduce`, with `ihash` = FNV-1a & 0x7fffffff. */
export const partitionOfHash = (hash: number, nReduce: number): number => (hash & 0x7fffffff) % nReduce;

export function defaultPartition(key: string, nReduce: number): number {
  return partitionOfHash(fnv1a32(key), nReduce);
}

/** The default partition of a key given as latin1 bytes: the same partition its UTF-8 text gets. */
export function latin1Partition(key: string, nReduce: number): number {
  return partitionOfHash(fnv1a32Latin1(key), nReduce);
}
