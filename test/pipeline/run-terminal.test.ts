// `resnet-batch run` at a terminal (issue 12): readable log lines, not JSON, and no TensorFlow.js
// banner; JSON again with LOG_FORMAT=json. The terminal is a real pseudo-terminal from util-linux
// `script`, so stderr.isTTY is what a person at a shell gets.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FIXTURES_DIR } from '../harness/fixtures.ts';
import { useTempDir } from '../harness/temp-dir.ts';
import { uniqueName } from '../harness/unique-name.ts';

const cli = fileURLToPath(new URL('../../bin/resnet-batch.js', import.meta.url));
const dir = useTempDir('run-terminal-');

/** Runs `run` on the fixtures inside a pseudo-terminal; returns everything the terminal showed. */
function runAtTerminal(env: Record<string, string>): { code: number | null; screen: string } {
  const quote = (value: string) => `'${value.replaceAll("'", "'\\''")}'`;
  const command = [process.execPath, cli, 'run', FIXTURES_DIR, '--output', join(dir.path, uniqueName('out'))].map(
    quote,
  );
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    QUEUE_PREFIX: uniqueName('terminal'),
    METRICS_PORT: '0',
    LOG_LEVEL: 'info',
    NO_COLOR: '1',
    ...env,
  };
  delete childEnv.REDIS_URL;
  const result = spawnSync('script', ['-q', '-e', '-c', command.join(' '), '/dev/null'], {
    env: childEnv,
    encoding: 'utf8',
    timeout: 180_000,
  });
  return { code: result.status, screen: finalScreen(result.stdout) };
}

/**
 * The lines a terminal shows at the end, for the few controls a progress bar and the log writer
 * use: a carriage return or a move to column 1 starts the line over (each is followed by an erase
 * to its end here), and every other control sequence changes nothing that a test reads.
 */
function finalScreen(output: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: terminal escape sequences are what this reads
  const control = /\x1B(\[[0-9;?]*[A-Za-z]|[78])/g;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: as above
  const lineStart = /\r|\x1B\[1G/;
  return output
    .replaceAll('\r\n', '\n') // the terminal's own line ends
    .split('\n')
    .map((line) => (line.split(lineStart).at(-1) ?? '').replace(control, ''))
    .join('\n');
}

describe('resnet-batch run at a terminal', () => {
  test('writes readable log lines, no JSON and no TensorFlow.js banner', () => {
    const { code, screen } = runAtTerminal({});
    assert.equal(code, 2, screen); // two fixtures have error rows (issue 19)
    assert.match(screen, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO \(worker\): worker ready \{"engine":"onnx-cpu"/m);
    // Every log line starts a line of its own: none lands inside the progress bar.
    for (const line of screen.split('\n')) assert.doesNotMatch(line, /.\[\d\d:\d\d:\d\d\.\d{3}\] (INFO|WARN)/, line);
    assert.match(screen, /^ \S+ 11\/11 images \| [\d.]+ img\/s \| ETA 0:00 \| 2 errors$/m);
    assert.match(screen, /^done: 9 ok, 2 error, 1 skipped/m);
    assert.doesNotMatch(screen, /^\{"level"/m);
    assert.doesNotMatch(screen, /TensorFlow\.js|Hi, looks like/);
  });

  test('writes JSON log lines with LOG_FORMAT=json', () => {
    const { code, screen } = runAtTerminal({ LOG_FORMAT: 'json' });
    assert.equal(code, 2, screen); // two fixtures have error rows (issue 19)
    assert.match(screen, /^\{"level":30,.*"msg":"worker ready"\}$/m);
    for (const line of screen.split('\n')) assert.doesNotMatch(line, /.\{"level":/, line);
  });
});
