import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PathNotWritableError } from '../errors.js';
import { makeDirs, probeWritableDir, removeDirs } from './dirs.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'kubemr-dirs-'));

describe('makeDirs', () => {
  it('creates the missing directories, outermost first, and reports them; an existing one is no work', () => {
    const root = tmp();
    expect(makeDirs(path.join(root, 'a', 'b', 'c'))).toEqual([path.join(root, 'a'), path.join(root, 'a', 'b'), path.join(root, 'a', 'b', 'c')]);
    expect(fs.statSync(path.join(root, 'a', 'b', 'c')).isDirectory()).toBe(true);
    expect(makeDirs(path.join(root, 'a', 'b'))).toEqual([]);
  });

  it.runIf(fs.existsSync('/proc/self'))('returns an error at once under /proc, where recursive mkdirSync never returns', () => {
    const err = (() => {
      try {
        makeDirs('/proc/nope/deeper', '`--out` directory');
      } catch (e) {
        return e;
      }
    })();
    expect(PathNotWritableError.is(err)).toBe(true);
    expect((err as PathNotWritableError).message).toBe('Cannot create the `--out` directory `/proc/nope/deeper`: `/proc` does not accept new directories');
    expect((err as PathNotWritableError).path).toBe('/proc/nope/deeper');
  });

  it('names the file that stands where a directory should be', () => {
    const root = tmp();
    fs.writeFileSync(path.join(root, 'f'), '');
    expect(() => makeDirs(path.join(root, 'f', 'x', 'y'))).toThrow(`Cannot create the directory \`${path.join(root, 'f', 'x', 'y')}\`: \`${path.join(root, 'f')}\` is a file, not a directory`);
    expect(() => makeDirs(path.join(root, 'f'))).toThrow('is a file, not a directory');
  });
});

describe('probeWritableDir and removeDirs', () => {
  it('leaves no probe file behind; removeDirs takes away only empty directories it made', () => {
    const root = tmp();
    const made = probeWritableDir(path.join(root, 'out', 'inner'));
    expect(fs.readdirSync(path.join(root, 'out', 'inner'))).toEqual([]);
    fs.writeFileSync(path.join(root, 'out', 'kept'), '');
    removeDirs(made);
    expect(fs.existsSync(path.join(root, 'out', 'inner'))).toBe(false);
    expect(fs.readdirSync(path.join(root, 'out'))).toEqual(['kept']);
  });
});
