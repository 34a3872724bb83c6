import { readCommitMarkers } from '../shared/output/read-parts.ts';
import { RUN_ID_PATTERN } from '../shared/queue/job-payload.ts';
import { openStore } from '../shared/storage/open-store.ts';
import { normalizeUri, relativeKeyWithin } from '../shared/storage/uri.ts';
import { alignedTable, HEADER, type RunsOptions, shortTime } from './runs-command.ts';
import { readStoredRun, type StoredRun } from './stored-run.ts';

/** One run as storage tells it; the total is unknown (null) until the manifest is written. */
interface StoredRunRow {
  run: string;
  state: 'done' | 'unfinished';
  images: { total: number | null; ok: number; error: number };
  shards: { total: number | null; done: number; failed: number | null };
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  input: string;
  output: string;
}

/**
 * `resnet-batch runs --output <prefix> [--limit n] [--json]`: the runs stored under an output
 * prefix (each `<prefix>/<run>/_run.json`), newest first by first submit, with no Redis. A run is
 * `done` when its manifest exists; an unfinished one shows the rows of its committed shards (their
 * commit markers) of a total only Redis knew. The store lists recursively (object-store.ts has no
 * delimiter listing), so this reads every key under the prefix once, a page at a time.
 */
export async function storedRunsCommand(options: RunsOptions & { output: string }): Promise<number> {
  const output = normalizeUri(options.output).replace(/\/+$/, '');
  const runs = await listStoredRunIds(output);
  const rows: StoredRunRow[] = [];
  for (const run of runs) rows.push(await runRow(await readStoredRun(output, run)));
  rows.sort((a, b) => b.created_at.localeCompare(a.created_at) || b.run.localeCompare(a.run));
  const shown = rows.slice(0, options.limit);
  process.stdout.write(options.json ? `${JSON.stringify(shown)}\n` : storedRunsTable(shown, output));
  return 0;
}

/** Run ids with a `<run>/_run.json` directly under `output`. */
async function listStoredRunIds(output: string): Promise<string[]> {
  const store = openStore(output);
  const runs: string[] = [];
  try {
    for await (const page of store.list(`${output}/`)) {
      for (const object of page) {
        const match = /^([^/]+)\/_run\.json$/.exec(relativeKeyWithin(output, object.uri) ?? '');
        if (match?.[1] !== undefined && RUN_ID_PATTERN.test(match[1])) runs.push(match[1]);
      }
    }
  } finally {
    await store.close();
  }
  return runs;
}

async function runRow({ output, definition, manifest }: StoredRun): Promise<StoredRunRow> {
  const common = { run: definition.run, created_at: definition.created_at, input: definition.input, output };
  if (manifest !== null) {
    return {
      ...common,
      state: 'done',
      images: { total: manifest.images.total, ok: manifest.images.ok, error: manifest.images.error },
      shards: { total: manifest.shards.total, done: manifest.shards.done, failed: manifest.shards.failed },
      started_at: manifest.started_at,
      finished_at: manifest.finished_at,
    };
  }
  const committed = { shards: 0, ok: 0, error: 0 };
  const store = openStore(output);
  try {
    for await (const marker of readCommitMarkers(store, output, definition.run)) {
      committed.shards += 1;
      committed.ok += marker.ok;
      committed.error += marker.error;
    }
  } finally {
    await store.close();
  }
  return {
    ...common,
    state: 'unfinished',
    images: { total: null, ok: committed.ok, error: committed.error },
    shards: { total: null, done: committed.shards, failed: null },
    started_at: null,
    finished_at: null,
  };
}

function storedRunsTable(rows: StoredRunRow[], output: string): string {
  if (rows.length === 0) return `no runs under ${output} (no <run>/_run.json)\n`;
  return alignedTable([
    HEADER,
    ...rows.map((row) => [
      row.run,
      row.state,
      String(row.images.ok),
      String(row.images.error),
      row.images.total === null ? '?' : String(row.images.total),
      shortTime(row.started_at ?? row.created_at),
      shortTime(row.finished_at),
    ]),
  ]);
}
