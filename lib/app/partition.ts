/**
 * The default partitioner: FNV-1a 32-bit over the key's UTF-8 bytes, `& 0x7fffffff`, modulo
 * the number of reducers. The same function as the MIT 6.5840 lab's `ihash`, so a key lands in
 * the same partition as there.
 */
export function fnv1a32(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    let c = key.charCodeAt(i);
    if (c < 0x80) {
      h = Math.imul(h ^ c, 0x01000193);
      continue;
    }
    // Hash the UTF-8 encoding without allocating a Buffer per key.
    if (c < 0x800) {
      h = Math.imul(h ^ (0xc0 | (c >> 6)), 0x01000193);
    } else {
      if (c >= 0xd800 && c < 0xdc00 && i + 1 < key.length) {
        const d = key.charCodeAt(i + 1);
        if (d >= 0xdc00 && d < 0xe000) {
          i++;
          const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          h = Math.imul(h ^ (0xf0 | (cp >> 18)), 0x01000193);
          h = Math.imul(h ^ (0x80 | ((cp >> 12) & 0x3f)), 0x01000193);
          h = Math.imul(h ^ (0x80 | ((cp >> 6) & 0x3f)), 0x01000193);
          h = Math.imul(h ^ (0x80 | (cp & 0x3f)), 0x01000193);
          continue;
        }
      }
      // A lone surrogate encodes as U+FFFD, as Buffer.from(key) would.
      if (c >= 0xd800 && c < 0xe000) c = 0xfffd;
      h = Math.imul(h ^ (0xe0 | (c >> 12)), 0x01000193);
      h = Math.imul(h ^ (0x80 | ((c >> 6) & 0x3f)), 0x01000193);
    }
    h = Math.imul(h ^ (0x80 | (c & 0x3f)), 0x01000193);
  }
  return h >>> 0;
}

export function defaultPartition(key: string, nReduce: number): number {
  return (fnv1a32(key) & 0x7fffffff) % nReduce;
}
