import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ManifestLine, manifestLines } from '../../producer/manifest-lines.ts';

async function collect(chunks: (string | Buffer)[], max?: number): Promise<ManifestLine[]> {
  const lines: ManifestLine[] = [];
  for await (const line of manifestLines(
    (async function* () {
      yield* chunks;
    })(),
    max,
  ))
    lines.push(line);
  return lines;
}

test('lines split across chunks come out whole and numbered from 1', async () => {
  const lines = await collect(['a.jpg\nb.', 'jpg\n', 'c.jpg']);
  assert.deepEqual(lines, [
    { number: 1, text: 'a.jpg' },
    { number: 2, text: 'b.jpg' },
    { number: 3, text: 'c.jpg' },
  ]);
});

test('a carriage return before the newline and a byte order mark are removed', async () => {
  const lines = await collect(['\uFEFFa.jpg\r\nb.jpg\r\n']);
  assert.deepEqual(
    lines.map((line) => (line.tooLong === true ? null : line.text)),
    ['a.jpg', 'b.jpg'],
  );
});

test('a multi-byte character split between chunks decodes intact', async () => {
  const bytes = Buffer.from('café.jpg\n', 'utf8');
  const lines = await collect([bytes.subarray(0, 4), bytes.subarray(4)]);
  assert.deepEqual(lines, [{ number: 1, text: 'café.jpg' }]);
});

test('a line over the limit is reported with its length and the next line still parses', async () => {
  const huge = 'x'.repeat(50_000);
  const lines = await collect(['a.jpg\n', huge.slice(0, 20_000), huge.slice(20_000), '\nb.jpg\n'], 1024);
  assert.deepEqual(lines, [
    { number: 1, text: 'a.jpg' },
    { number: 2, tooLong: true, bytes: 50_000 },
    { number: 3, text: 'b.jpg' },
  ]);
});
