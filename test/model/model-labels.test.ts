// The labels file of the artifact: index-keyed names, checked against the class count.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseLabels } from '../../model/labels.ts';
import { ModelError } from '../../shared/errors.ts';

describe('labels', () => {
  test('an index-keyed labels object becomes a list in index order', () => {
    assert.deepEqual(parseLabels({ 1: 'goldfish', 0: 'tench' }, 2, 'labels.json'), ['tench', 'goldfish']);
  });

  test('a labels file with the wrong number of classes is a ModelError', () => {
    assert.throws(
      () => parseLabels({ 0: 'tench' }, 1000, 'labels.json'),
      (error: unknown) => error instanceof ModelError && /expected 1000 names/.test(error.message),
    );
  });
});
