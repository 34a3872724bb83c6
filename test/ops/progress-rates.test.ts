import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { progressRates, runProgress } from '../../ops/run-progress.ts';
import type { RunRecord } from '../../shared/run/run-record.ts';
import { runningRecord } from '../harness/run-record.ts';

/**
 * Issue 19: the rates of `run`, `status` and the dashboard are right from the first second (the
 * recent window is cut to the elapsed time), and a resumed run's rates count only the images it
 * processed itself. The pure functions on injected clocks and counts; no timing.
 */

const START = Date.parse('2026-12-07T12:00:00.000Z');

function record(overrides: { images?: Partial<RunRecord['images']>; finishedAt?: string | null } = {}): RunRecord {
  return runningRecord(START, overrides);
}

describe('progressRates', () => {
  test('seven seconds in, the recent rate divides by the seven seconds, not by a minute', () => {
    const rates = progressRates({ ownImages: 70, elapsedSeconds: 7, recentImages: 70, recentSeconds: 57 });
    assert.equal(rates.recentImagesPerSecond, 10);
    assert.equal(rates.imagesPerSecond, 10);
  });

  test('after a minute, the recent rate is over the window', () => {
    const rates = progressRates({ ownImages: 3000, elapsedSeconds: 300, recentImages: 110, recentSeconds: 55 });
    assert.equal(rates.recentImagesPerSecond, 2);
    assert.equal(rates.imagesPerSecond, 10);
  });

  test('nothing elapsed yet gives rates of 0, not infinity or NaN', () => {
    assert.deepEqual(progressRates({ ownImages: 5, elapsedSeconds: 0, recentImages: 5, recentSeconds: 55 }), {
      imagesPerSecond: 0,
      recentImagesPerSecond: 0,
    });
  });
});

describe('runProgress', () => {
  test('seven seconds before the end of a 20 s run, the ETA is at the real speed', () => {
    const now = new Date(START + 13_000);
    const progress = runProgress(
      record({ images: { total: 200, ok: 120 } }),
      { inFlight: 10, recentImages: 130, recentSeconds: 53 },
      now,
    );
    assert.equal(progress.recentImagesPerSecond, 10);
    assert.equal(progress.etaSeconds, 7);
  });

  test("a resumed run's mean rate leaves out the images it found committed on storage", () => {
    const now = new Date(START + 10_000);
    const progress = runProgress(record({ images: { ok: 100, reused: 90 } }), undefined, now);
    assert.equal(progress.processed, 100);
    assert.equal(progress.imagesPerSecond, 1);
  });

  test("a finished resumed run's summary rate is its own images over its own time", () => {
    const finishedAt = new Date(START + 20_000).toISOString();
    const progress = runProgress(record({ images: { total: 100, ok: 95, error: 5, reused: 60 }, finishedAt }));
    assert.equal(progress.imagesPerSecond, 2);
    assert.equal(progress.etaSeconds, 0);
  });
});
