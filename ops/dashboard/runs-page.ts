import type { RunActivity } from '../../shared/run/run-activity.ts';
import type { RunRecord } from '../../shared/run/run-record.ts';
import type { RunRegistry } from '../../shared/run/run-registry.ts';
import { escapeHtml } from '../escape-html.ts';
import { formatDuration, type RunProgress, readRunProgress, stateWithFailures } from '../run-progress.ts';

/**
 * The dashboard's list of runs (bull-board shows jobs, not runs): the most recent runs with their
 * state and counters, as JSON for scripts and as a plain HTML table for people.
 */
export interface RunSummary {
  run: string;
  state: RunRecord['state'];
  createdAt: string;
  finishedAt: string | null;
  input: string;
  output: string;
  images: RunRecord['images'] & { processed: number };
  shards: Omit<RunRecord['shards'], 'failedShards'>;
  engines: string[];
  /** The state with failed shards or finaliser named ('running, 2 shard(s) failed'). */
  status: string;
  imagesPerSecondLastMinute: number;
  etaSeconds: number | null;
}

/** Most recent first; at most `limit` (default 100: the page stays readable and one round trip per run stays cheap). */
export async function listRuns(registry: RunRegistry, activity: RunActivity, limit = 100): Promise<RunSummary[]> {
  const ids = await registry.list(limit);
  const records = (await Promise.all(ids.map((id) => registry.get(id)))).filter(
    (record): record is RunRecord => record !== null,
  );
  return Promise.all(records.map(async (record) => summarize(record, await readRunProgress(activity, record))));
}

function summarize(record: RunRecord, progress: RunProgress): RunSummary {
  const { failedShards: _omitted, ...shards } = record.shards;
  return {
    run: record.run,
    state: record.state,
    createdAt: record.createdAt,
    finishedAt: record.finishedAt,
    input: record.input,
    output: record.output,
    images: { ...record.images, processed: progress.processed },
    shards,
    engines: record.engines,
    status: stateWithFailures(record),
    imagesPerSecondLastMinute: Number(progress.recentImagesPerSecond.toFixed(3)),
    etaSeconds: progress.etaSeconds === null ? null : Math.round(progress.etaSeconds),
  };
}

export function renderRunsPage(runs: RunSummary[], queuesPath: string): string {
  const rows = runs.map((run) => {
    const cells = [
      run.run,
      run.status,
      run.createdAt,
      `${run.images.processed} of ${run.images.total} processed (${run.images.ok} ok / ${run.images.error} error)${
        run.state === 'done' || run.etaSeconds === null
          ? ''
          : `, ${run.imagesPerSecondLastMinute.toFixed(1)} img/s, ETA ${formatDuration(run.etaSeconds)}`
      }`,
      `${run.shards.done} done / ${run.shards.failed} failed / ${run.shards.total} total`,
      run.input,
      run.output,
    ];
    return `<tr>${cells.map((cell) => `<td>${escapeHtml(cell)}</td>`).join('')}</tr>`;
  });
  const body = rows.length > 0 ? rows.join('\n') : '<tr><td colspan="7">no runs yet</td></tr>';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>resnet-batch runs</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}</style>
</head><body>
<h1>Runs</h1>
<p><a href="${escapeHtml(queuesPath)}">Shard queue (bull-board)</a> · <a href="runs.json">JSON</a></p>
<table><thead><tr><th>run</th><th>state</th><th>created</th><th>images</th><th>shards</th><th>input</th><th>output</th></tr></thead>
<tbody>
${body}
</tbody></table>
</body></html>
`;
}
