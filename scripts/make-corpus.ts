/**
 * Writes a deterministic text corpus, so the README's first command needs no download:
 *   node dist/scripts/make-corpus.js DIR [--files N] [--kb K]
 * Words follow a Zipf-like law over a fixed vocabulary (some of it non-ASCII), like prose.
 */
import fs from 'node:fs';
import path from 'node:path';

const SYLLABLES = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'to', 'vi', 'xe', 'zu', 'bre', 'dan', 'fel', 'gor', 'hin', 'jus', 'kré', 'lün', 'mø', 'ñа'];

function* rng(seed: number): Generator<number> {
  let x = seed >>> 0 || 1;
  for (;;) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    yield (x >>> 0) / 4294967296;
  }
}

export function makeCorpus(dir: string, files = 8, kb = 256): string[] {
  const r = rng(6_5840);
  const next = () => r.next().value as number;
  const vocab: string[] = [];
  for (let i = 0; i < 5000; i++) {
    const n = 1 + Math.floor(next() * 3);
    let w = '';
    for (let j = 0; j < n; j++) w += SYLLABLES[Math.floor(next() * SYLLABLES.length)];
    vocab.push(i % 7 === 0 ? w[0]!.toUpperCase() + w.slice(1) : w);
  }
  fs.mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  for (let f = 0; f < files; f++) {
    const lines: string[] = [];
    let size = 0;
    while (size < kb * 1024) {
      const words: string[] = [];
      for (let k = 0; k < 12; k++) words.push(vocab[Math.floor(vocab.length * next() ** 3)]!);
      const line = words.join(next() < 0.1 ? ', ' : ' ') + (next() < 0.3 ? '.' : '');
      lines.push(line);
      size += Buffer.byteLength(line) + 1;
    }
    const file = path.join(dir, `text-${f}.txt`);
    fs.writeFileSync(file, lines.join('\n') + '\n');
    written.push(file);
  }
  return written;
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  const args = process.argv.slice(2);
  const dir = args.find((a) => !a.startsWith('--'));
  const flag = (name: string, def: number) => {
    const i = args.indexOf(name);
    const v = i === -1 ? def : Number(args[i + 1]);
    if (!Number.isInteger(v) || v < 1) {
      process.stderr.write(`make-corpus: expected \`${name}\` to be an integer >= 1, got \`${args[i + 1]}\`\n`);
      process.exit(2);
    }
    return v;
  };
  if (!dir) {
    process.stderr.write('usage: make-corpus DIR [--files N] [--kb K]\n');
    process.exit(2);
  }
  const files = makeCorpus(dir, flag('--files', 8), flag('--kb', 256));
  process.stderr.write(`wrote ${files.length} files to ${dir}\n`);
}
