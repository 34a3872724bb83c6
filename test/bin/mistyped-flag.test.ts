import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runCli } from '../harness/cli.ts';

/**
 * Issue 19: a mistyped flag is named with commander's suggestion before the usage text, also
 * when the flag it was meant to be is a required one (commander checks those first, and said
 * only that --output was missing).
 */

const env = { REDIS_URL: undefined, LOG_LEVEL: 'warn' };

describe('a mistyped flag', () => {
  test('--ouput on run: the unknown flag and "Did you mean --output?" come before the usage, exit 1', async () => {
    const result = await runCli(['run', './images', '--ouput', './out'], env);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /^error: unknown option '--ouput'\n\(Did you mean --output\?\)\n/);
    assert.doesNotMatch(result.stderr, /required option/);
    assert.ok(result.stderr.indexOf('Did you mean') < result.stderr.indexOf('Usage: resnet-batch run'), result.stderr);
  });

  test('--ouput=value on submit is named the same way', async () => {
    const result = await runCli(['submit', './images', '--ouput=./out'], env);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /unknown option '--ouput'\n\(Did you mean --output\?\)/);
  });

  test('a missing required flag with no typo is still reported as missing', async () => {
    const result = await runCli(['run', './images'], env);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /^error: required option '--output <uri>' not specified/);
  });
});
