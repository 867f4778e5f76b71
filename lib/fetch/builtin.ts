import type { FetchFileSpec } from './options.js';

/**
 * The eight Project Gutenberg books of the MIT 6.5840 MapReduce lab, under the lab's file
 * names. Sizes and sha256 are those of the lab's copies, so a `--from` copy of the lab's
 * `src/main/pg-*.txt` verifies exactly. gutenberg.org re-issues its texts from time to time
 * (new headers, new line endings); when its copy no longer matches, fetch reports a checksum
 * mismatch rather than silently feeding a different corpus to the tests, and `verify: false`
 * (`--no-verify`) accepts the current text instead.
 */
const GUTENBERG_BOOKS: ReadonlyArray<readonly [name: string, ebook: number, size: number, sha256: string]> = [
  ['being_ernest', 844, 138885, '0eecfebe10e42156b8ef24ad7397aad54540d43694c88e3835916ae39b70e150'],
  ['dorian_gray', 174, 453168, '8804df5f5cf5b929b9285f2d71fb2371ebd0725c95b09e8562f36e8fad22050d'],
  ['frankenstein', 84, 441033, 'a922cdb20552c42f22b065721b53cc46e751ff93403a1125333d62b778bc1153'],
  ['grimm', 2591, 540174, '2b13e225751135ca74ec1d0cb01a9a309f04f91fce13af08659971c52d77446c'],
  ['huckleberry_finn', 76, 594262, '3169c63f74ed614f4c251ab6719347eb6b26842ea0fb606a450099f4d821c82e'],
  ['metamorphosis', 5200, 139054, '3609e4a11640b72fe18c5f1a658b25bb0d67edd7840318b1a4138ffac646c5ef'],
  ['sherlock_holmes', 1661, 581863, '2e6a94e933fb8be786a0b2ccbc958ea0e0bdab9791de6d3d31c4207e2edaf286'],
  ['tom_sawyer', 74, 412665, 'a9c6644292de2bf2c995d0f6271e1320d524fc8de5c0954418819df65aa86e61'],
];

const gutenberg: readonly FetchFileSpec[] = GUTENBERG_BOOKS.map(([name, ebook, size, sha256]) => ({
  name: `pg-${name}.txt`,
  url: `https://www.gutenberg.org/cache/epub/${ebook}/pg${ebook}.txt`,
  size,
  sha256,
}));

/** Datasets fetch knows by name. Each entry's files are what `kubemr fetch <name>` writes. */
export const BUILTIN_DATASETS: Readonly<Record<string, readonly FetchFileSpec[]>> = { gutenberg };

export function builtinDataset(name: string): readonly FetchFileSpec[] | undefined {
  return Object.hasOwn(BUILTIN_DATASETS, name) ? BUILTIN_DATASETS[name] : undefined;
}
