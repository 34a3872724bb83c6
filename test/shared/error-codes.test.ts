// The closed set of error codes (shared/error-codes.ts): every entry documented, every code the
// source raises or compares listed, and the classes' retry flags as the table says. The types
// already refuse an unknown code; the source scan catches one smuggled past them with a cast.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  ConfigError,
  EngineUnavailableError,
  ERROR_CODE_ROWS,
  ERROR_CODES,
  type ErrorCode,
  HTTP_STATUS_CODE_DOC,
  IMAGE_ERROR_CODES,
  ImageError,
  isImageErrorCode,
  ModelError,
  NotAFileError,
  ObjectNotFoundError,
  ObjectTooLargeError,
  PreconditionFailedError,
  ResnetBatchError,
  StorageError,
} from '../../shared/errors.ts';
import { InvalidJobError } from '../../shared/queue/job-payload.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const SOURCE_FOLDERS = ['bin', 'ops', 'schedule', 'producer', 'worker', 'model', 'shared'];
const HOME = join('shared', 'error-codes.ts');

/**
 * Codes the source compares or sets that belong to Node, undici or process warnings, not to
 * resnet-batch: they never reach a row or the CLI as a code.
 */
const FOREIGN_CODES = new Set([
  'ENOENT',
  'ENOTDIR',
  'ENOTEMPTY',
  'EADDRINUSE',
  'EEXIST',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ERR_UNKNOWN_FILE_EXTENSION',
  'UND_ERR_CONNECT_TIMEOUT',
  'RESNET_BATCH_LIST_SKIPPED',
]);

/**
 * Where a code string is produced or compared; group 1 is the code. Past a constructor, only
 * CODE-shaped strings count (`typeof link.code === 'string'` is not a code).
 */
const CODE_SITES = [
  /new (?:ResnetBatchError|ImageError)\(\s*'([^']*)'/g,
  /super\(\s*'([A-Z][A-Z0-9_]*)'/g,
  /\bcode:\s*'([A-Z][A-Z0-9_]*)'/g,
  /\bcode\s*[!=]==?\s*'([A-Z][A-Z0-9_]*)'/g,
  /\bcode\s*\?\?\s*'([A-Z][A-Z0-9_]*)'/g,
];

function sourceFiles(): { path: string; text: string }[] {
  return SOURCE_FOLDERS.flatMap((folder) =>
    readdirSync(join(root, folder), { recursive: true, encoding: 'utf8' })
      .filter((path) => path.endsWith('.ts'))
      .map((path) => join(folder, path))
      .map((path) => ({ path, text: readFileSync(join(root, path), 'utf8') })),
  );
}

const known = new Set<string>(Object.keys(ERROR_CODES));
const isKnown = (code: string): boolean => known.has(code) || /^HTTP_[1-5][0-9]{2}$/.test(code);

describe('ERROR_CODES', () => {
  test('every code says what it means, whether a retry helps, where it arises and what to do', () => {
    for (const { code, meaning, retryable, arises, fix } of ERROR_CODE_ROWS) {
      assert.match(code, /^(?:[A-Z][A-Z0-9_]*|HTTP_<status>)$/, code);
      assert.ok(meaning.trim().length > 10, `${code}: meaning`);
      assert.ok(fix.trim().length > 10, `${code}: fix`);
      assert.ok([true, false, 'varies'].includes(retryable), `${code}: retryable`);
      assert.ok(arises.length > 0, `${code}: arises`);
    }
  });

  test('the table has one row per code, and HTTP_<status> for the status family', () => {
    assert.deepEqual(
      ERROR_CODE_ROWS.map((row) => row.code),
      [...Object.keys(ERROR_CODES), 'HTTP_<status>'],
    );
    assert.equal(ERROR_CODE_ROWS.at(-1)?.meaning, HTTP_STATUS_CODE_DOC.meaning);
  });

  test('the image codes are a subset, each documented as arising in an image row', () => {
    for (const code of IMAGE_ERROR_CODES) {
      assert.ok(known.has(code), code);
      assert.ok((ERROR_CODES[code].arises as readonly string[]).includes('image'), code);
      assert.ok(isImageErrorCode(code), code);
    }
    assert.ok(isImageErrorCode('HTTP_404'));
    assert.ok(!isImageErrorCode('STORAGE'));
  });

  test("each error class's retry flag is the one its code documents", () => {
    const errors: ResnetBatchError[] = [
      new ConfigError('x'),
      new ModelError('x'),
      new EngineUnavailableError('x'),
      new ObjectNotFoundError('s3://b/k'),
      new ObjectTooLargeError('s3://b/k', 2, 1),
      new NotAFileError('/dev/null', 'device'),
      new PreconditionFailedError('s3://b/k'),
      new InvalidJobError('x'),
      new ImageError('EMPTY', 'x'),
    ];
    for (const error of errors) {
      assert.equal(error.retryable, (ERROR_CODES as Record<string, { retryable: unknown }>)[error.code]?.retryable);
    }
    assert.equal(ERROR_CODES.STORAGE.retryable, 'varies');
    assert.deepEqual(
      [new StorageError('x').retryable, new StorageError('x', { retryable: false }).retryable],
      [true, false],
    );
  });

  test('a code outside the set does not compile; an HTTP status does', () => {
    // @ts-expect-error 'NO_SUCH_CODE' is not an ErrorCode: this line fails `tsc` the day it is accepted
    assert.equal(new ResnetBatchError('NO_SUCH_CODE', 'x').code, 'NO_SUCH_CODE');
    const status: ErrorCode = 'HTTP_503';
    assert.equal(new ImageError(status, 'x').code, 'HTTP_503');
  });
});

describe('the source', () => {
  const files = sourceFiles();

  test('raises, sets and compares only codes of the set (or of Node)', () => {
    const strays: string[] = [];
    for (const { path, text } of files.filter((file) => file.path !== HOME)) {
      for (const pattern of CODE_SITES) {
        for (const [site, code] of text.matchAll(pattern)) {
          if (!isKnown(code!) && !FOREIGN_CODES.has(code!)) strays.push(`${path}: ${site.replace(/\s+/g, ' ')}`);
        }
      }
    }
    assert.deepEqual(strays, [], 'add each code to ERROR_CODES in shared/error-codes.ts (or to FOREIGN_CODES here)');
  });

  test('never casts a string to a code', () => {
    const casts = files
      .filter(({ path, text }) => path !== HOME && /\bas (?:Image)?ErrorCode\b/.test(text))
      .map(({ path }) => path);
    assert.deepEqual(casts, []);
  });

  test('uses every code of the set, so the table documents nothing stale', () => {
    const elsewhere = files
      .filter(({ path }) => path !== HOME)
      .map(({ text }) => text)
      .join('\n');
    const unused = Object.keys(ERROR_CODES).filter((code) => !elsewhere.includes(`'${code}'`));
    assert.deepEqual(unused, []);
  });
});
