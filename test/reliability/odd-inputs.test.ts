import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { openStore } from '../../shared/storage/open-store.ts';
import type { ServerProcess } from '../harness/child-process.ts';
import { runCli, startOnnxWorker, stopWorkers } from '../harness/cli.ts';
import { fixturePath, readFixture } from '../harness/fixtures.ts';
import { useRedis } from '../harness/redis-server.ts';
import { type ReadRow, readRunOutput } from '../harness/run-output.ts';
import { waitForRunDone } from '../harness/run-state.ts';
import { newBucket, s3Env, s3StorageConfig, useS3 } from '../harness/s3-server.ts';
import { setUp, teardown } from '../harness/set-up-scope.ts';
import { useTempDir } from '../harness/temp-dir.ts';
import { uniqueName } from '../harness/unique-name.ts';
import { reliabilityEnv } from './reliability-harness.ts';

/**
 * Inputs that are not one plain file each, and one file named several ways:
 *   - a FIFO named in a manifest used to hang its shard for ever (the lock kept renewing); a
 *     folder named like an image is no file either: each is now a NOT_A_FILE row;
 *   - one looping symlink in a folder aborted the whole submit with a message naming no file:
 *     it is now skipped with a warning naming it;
 *   - an s3:// URI in a bucket that does not exist failed its whole shard: it is now a NOT_FOUND
 *     row for that image alone;
 *   - chelsea.png, ./chelsea.png and its absolute path got three rows and three vectors: they are
 *     one input, and the two repeats are reported as duplicates.
 * And the row of an object overwritten between listing and processing describes the bytes that
 * were processed (their ETag and size), not the listing's.
 */

const redis = useRedis();
const s3 = useS3();
const dir = useTempDir('reliability-odd-');
let workers: ServerProcess[] = [];
let env: Record<string, string>;

const nameOf = (row: ReadRow) => decodeURIComponent(row.uri.slice(row.uri.lastIndexOf('/') + 1));

setUp(async () => {
  env = { ...reliabilityEnv(redis.url, uniqueName('odd')), ...s3Env(s3) };
  workers = [await startOnnxWorker(env)];
});

teardown(async () => {
  if (workers.length > 0) await stopWorkers(workers);
});

async function submitAndWait(input: string, output: string): Promise<{ run: string; stderr: string; rows: ReadRow[] }> {
  const submitted = await runCli(['submit', input, '--output', output, '--shard-size', '8'], {
    ...env,
    LOG_LEVEL: 'warn',
  });
  assert.equal(submitted.code, 0, submitted.stderr);
  const run = submitted.stdout.trim();
  await waitForRunDone(redis.url, env.QUEUE_PREFIX ?? '', run, 120_000);
  const rows = (await readRunOutput(openStore(output, s3StorageConfig(s3)), output, run)).parts.flatMap(
    (part) => part.rows,
  );
  return { run, stderr: submitted.stderr, rows };
}

describe('a local manifest naming a FIFO, a folder and one photo three ways', () => {
  let result: Awaited<ReturnType<typeof submitAndWait>>;
  before(async () => {
    const base = join(dir.path, 'manifest');
    await mkdir(join(base, 'folder.jpg'), { recursive: true });
    await copyFile(fixturePath('chelsea.png'), join(base, 'chelsea.png'));
    await copyFile(fixturePath('coffee.png'), join(base, 'coffee.png'));
    execFileSync('mkfifo', [join(base, 'pipe.jpg')]);
    const lines = ['chelsea.png', './chelsea.png', join(base, 'chelsea.png'), 'pipe.jpg', 'folder.jpg', 'coffee.png'];
    await writeFile(join(base, 'list.txt'), `${lines.join('\n')}\n`);
    result = await submitAndWait(join(base, 'list.txt'), join(dir.path, 'manifest-out'));
  });

  test('the repeats of chelsea.png are skipped at submit and reported as duplicates', () => {
    assert.match(result.stderr, /list\.txt:2: .*chelsea\.png is named earlier in the manifest/);
    assert.match(result.stderr, /list\.txt:3: .*chelsea\.png is named earlier in the manifest/);
  });

  test('the run completes with one row per input: the FIFO and the folder are NOT_A_FILE rows', () => {
    const rows = Object.fromEntries(result.rows.map((row) => [nameOf(row), row]));
    assert.deepEqual(Object.keys(rows).sort(), ['chelsea.png', 'coffee.png', 'folder.jpg', 'pipe.jpg']);
    assert.equal(rows['chelsea.png']?.status, 'ok');
    assert.equal(rows['coffee.png']?.status, 'ok');
    assert.match(rows['pipe.jpg']?.error ?? '', /^NOT_A_FILE: \S+pipe\.jpg is a FIFO, not a regular file/);
    assert.match(rows['folder.jpg']?.error ?? '', /^NOT_A_FILE: \S+folder\.jpg is a directory/);
  });
});

describe('a folder holding a link that loops', () => {
  let result: Awaited<ReturnType<typeof submitAndWait>>;
  before(async () => {
    const base = join(dir.path, 'loops');
    await mkdir(base, { recursive: true });
    await copyFile(fixturePath('rocket.jpg'), join(base, 'rocket.jpg'));
    await symlink(join(base, 'loop-b.jpg'), join(base, 'loop-a.jpg'));
    await symlink(join(base, 'loop-a.jpg'), join(base, 'loop-b.jpg'));
    result = await submitAndWait(base, join(dir.path, 'loops-out'));
  });

  test('is submitted, with a warning naming each looping link', () => {
    assert.match(result.stderr, /skipped \S+loop-a\.jpg: it cannot be read \(ELOOP: a link that loops\)/);
    assert.match(result.stderr, /skipped \S+loop-b\.jpg: it cannot be read \(ELOOP/);
  });

  test('and the rest of the folder is processed', () => {
    assert.deepEqual(
      result.rows.map((row) => [nameOf(row), row.status]),
      [['rocket.jpg', 'ok']],
    );
  });
});

describe('a manifest naming an image in a bucket that does not exist, beside good ones', () => {
  let result: Awaited<ReturnType<typeof submitAndWait>>;
  before(async () => {
    const bucket = await newBucket(s3);
    const store = openStore(`s3://${bucket}/`, s3StorageConfig(s3));
    await store.write(`s3://${bucket}/in/chelsea.png`, await readFixture('chelsea.png'));
    await store.write(`s3://${bucket}/in/coffee.png`, await readFixture('coffee.png'));
    await store.close();
    const missing = uniqueName('gone');
    const lines = [`s3://${bucket}/in/chelsea.png`, `s3://${missing}/in/ghost.jpg`, `s3://${bucket}/in/coffee.png`];
    await writeFile(join(dir.path, 'buckets.txt'), `${lines.join('\n')}\n`);
    result = await submitAndWait(join(dir.path, 'buckets.txt'), `s3://${bucket}/out`);
  });

  test('that image alone is a NOT_FOUND row naming the missing bucket; its neighbours succeed', () => {
    const rows = Object.fromEntries(result.rows.map((row) => [nameOf(row), row]));
    assert.match(rows['ghost.jpg']?.error ?? '', /^NOT_FOUND: .*the bucket does not exist/);
    assert.equal(rows['chelsea.png']?.status, 'ok');
    assert.equal(rows['coffee.png']?.status, 'ok');
  });
});

describe('an object overwritten between listing and processing', () => {
  test('its row has the ETag and size of the bytes that were processed, not the listing’s', async () => {
    await stopWorkers(workers);
    workers = [];
    const base = join(dir.path, 'changed');
    await mkdir(base, { recursive: true });
    await copyFile(fixturePath('coffee.png'), join(base, 'photo.png'));
    const submitted = await runCli(['submit', base, '--output', join(dir.path, 'changed-out')], {
      ...env,
      LOG_LEVEL: 'warn',
    });
    assert.equal(submitted.code, 0, submitted.stderr);
    const run = submitted.stdout.trim();
    // Another photo under the same name, after the listing recorded the first one's ETag.
    await copyFile(fixturePath('chelsea.png'), join(base, 'photo.png'));
    const now = await stat(join(base, 'photo.png'));
    workers = [await startOnnxWorker(env)];
    await waitForRunDone(redis.url, env.QUEUE_PREFIX ?? '', run, 120_000);
    const [row] = (
      await readRunOutput(openStore(join(dir.path, 'changed-out')), join(dir.path, 'changed-out'), run)
    ).parts.flatMap((part) => part.metadata);
    assert.equal(row?.etag, `${now.mtimeMs}-${now.size}`);
    assert.equal(Number(row?.size_bytes), now.size);
    assert.match(row?.top_labels[0] ?? '', /cat/i, 'the labels are those of the bytes read: a cat, not coffee');
    assert.equal(row?.uri, pathToFileURL(join(base, 'photo.png')).href);
  });
});
