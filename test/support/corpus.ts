/**
 * The input corpus of the end-to-end tests: the MIT lab's eight books when they are beside the
 * checkout (`../shared/corpus/gutenberg`, or the directory in $KUBEMR_BOOKS), else a generated
 * stand-in with the same eight file names and sizes of the same order, made once per machine,
 * so `npm test` passes on a clone that has nothing beside it. Every test compares a
 * distributed run with the sequential run of the same inputs, so either corpus proves the same.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeCorpus } from '../../scripts/make-corpus.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const LAB_CORPUS = process.env.KUBEMR_BOOKS ? path.resolve(process.env.KUBEMR_BOOKS) : path.resolve(ROOT, '..', 'shared', 'corpus', 'gutenberg');

const NAMES = ['being_ernest', 'dorian_gray', 'frankenstein', 'grimm', 'huckleberry_finn', 'metamorphosis', 'sherlock_holmes', 'tom_sawyer'];

function list(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => /^pg-.*\.txt$/.test(f)).sort().map((f) => path.join(dir, f)) : [];
}

/** The lab's own books, or [] when they are not beside the checkout. */
export const LAB_BOOKS: string[] = list(LAB_CORPUS);
export const HAVE_LAB_BOOKS = LAB_BOOKS.length === NAMES.length;

/**
 * Eight generated books, `pg-<title>.txt`, each ending with its title in words found in no other
 * (so an inverted index names exactly one file for them, as with the real books). Written to a
 * temp directory and renamed into place, so concurrent test files never see half a corpus.
 */
function standInBooks(): string[] {
  const dir = path.join(os.tmpdir(), 'kubemr-stand-in-books-v3');
  if (list(dir).length === NAMES.length) return list(dir);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kubemr-stand-in-books-'));
  makeCorpus(tmp, NAMES.length, 420).forEach((file, i) => {
    const title = NAMES[i]!.split('_').map((w) => w[0]!.toUpperCase() + w.slice(1)).join(' ');
    // Common words too, as real books have them ('the' is a key some tests pick).
    fs.appendFileSync(file, `the end of the story. The end of ${title}.\n`);
    fs.renameSync(file, path.join(tmp, `pg-${NAMES[i]}.txt`));
  });
  try {
    fs.renameSync(tmp, dir);
  } catch {
    // Another test process made it first.
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return list(dir);
}

/** The corpus the tests run on. */
export const BOOKS: string[] = HAVE_LAB_BOOKS ? LAB_BOOKS : standInBooks();
export const CORPUS_DIR = path.dirname(BOOKS[0]!);
