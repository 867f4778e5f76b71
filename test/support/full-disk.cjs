/**
 * A full volume, for tests: preloaded with `node --require` (NODE_OPTIONS), it makes every file
 * opened for writing whose path contains $KUBEMR_TEST_FULL_DISK open /dev/full instead, where
 * each write fails with the kernel's own ENOSPC, as on a volume with no space left.
 */
const fs = require('node:fs');

const match = process.env.KUBEMR_TEST_FULL_DISK;
const forWriting = (flags) =>
  typeof flags === 'string' ? /[wa+]/.test(flags) : typeof flags === 'number' && (flags & (fs.constants.O_WRONLY | fs.constants.O_RDWR)) !== 0;
const full = (p, flags) => Boolean(match) && typeof p === 'string' && p.includes(match) && forWriting(flags ?? 'r');

const openSync = fs.openSync;
fs.openSync = function (p, flags, ...rest) {
  return full(p, flags) ? openSync.call(fs, '/dev/full', 'w') : openSync.call(fs, p, flags, ...rest);
};
const open = fs.open;
fs.open = function (p, flags, ...rest) {
  if (!full(p, flags)) return open.call(fs, p, flags, ...rest);
  return open.call(fs, '/dev/full', 'w', rest.find((a) => typeof a === 'function'));
};
