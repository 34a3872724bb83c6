import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parquetReadObjects } from 'hyparquet';
import { parse as parseNpy } from 'npyjs';
import { cliEnv, runCli } from '../harness/cli.ts';
import { arrayBufferOf } from '../harness/run-output.ts';

/**
 * What only the reliability tests use, on top of test/harness/: the short locks and quick
 * retries of their runs, a watcher of the output's invariant while a run goes, status --json
 * parsed, and a process's JSON log lines.
 */

/**
 * The environment of every process of a reliability run: short locks so a dead worker's shard is
 * back within seconds (lock 3 s, stalled check every 1.5 s), quick retries, no /metrics port.
 * `overrides` win.
 */
export function reliabilityEnv(
  redisUrl: string,
  prefix: string,
  overrides: Record<string, string> = {},
): Record<string, string> {
  return cliEnv(redisUrl, prefix, {
    SHARD_LOCK_MS: '3000',
    MAX_STALLED: '2',
    JOB_ATTEMPTS: '5',
    JOB_BACKOFF_MS: '200',
    ...overrides,
  });
}

/**
 * Watches a local run output folder while the run goes, checking on every poll that each visible
 * metadata part has its .npy beside it with exactly as many rows as the part has ok rows: a shard
 * is never visible as complete while half written. stop() returns the violations and poll count.
 */
export function watchOutputInvariant(
  runFolder: string,
  intervalMs = 100,
): { stop(): Promise<{ violations: string[]; polls: number; partsSeen: number }> } {
  const violations: string[] = [];
  const seen = new Set<string>();
  let polls = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      polls += 1;
      await checkParts(runFolder, violations, seen);
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      // One last look after the run: the final part may land between the last poll and stop().
      polls += 1;
      await checkParts(runFolder, violations, seen);
      return { violations, polls, partsSeen: seen.size };
    },
  };
}

async function checkParts(runFolder: string, violations: string[], seen: Set<string>): Promise<void> {
  const names = await readdir(join(runFolder, 'metadata')).catch(() => [] as string[]);
  for (const name of names.filter((entry) => /^part-\d+\.parquet$/.test(entry))) {
    const part = name.replace(/\.parquet$/, '');
    seen.add(part);
    const npy = await readFile(join(runFolder, 'embeddings', `${part}.npy`)).catch(() => undefined);
    if (!npy) {
      violations.push(`${part}: metadata present, .npy missing`);
      continue;
    }
    const rows = await parquetReadObjects({ file: arrayBufferOf(await readFile(join(runFolder, 'metadata', name))) });
    const npyRows = parseNpy(arrayBufferOf(npy)).shape[0];
    if (npyRows !== rows.length) violations.push(`${part}: ${rows.length} metadata rows, ${npyRows} .npy rows`);
  }
}

/** `resnet-batch status <run> --json`, parsed; asserts exit 0. */
export async function statusJson(run: string, env: Record<string, string>): Promise<StatusJson> {
  const result = await runCli(['status', run, '--json'], env);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as StatusJson;
}

export interface StatusJson {
  state: string;
  images: { total: number; ok: number; error: number; skipped: number; unchanged: number; processed: number };
  shards: { total: number; done: number; failed: number; failed_shards: number[] };
  queue: { waiting: number; active: number; delayed: number; failed: number };
  workers: number | null;
  finalize_error: string | null;
}

/** The JSON log lines a process printed (non-JSON lines are skipped). */
export function logLines(text: string): Array<Record<string, unknown>> {
  return text.split('\n').flatMap((line) => {
    if (!line.startsWith('{')) return [];
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}
