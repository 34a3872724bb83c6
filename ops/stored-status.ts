import type { RunRecord } from '../shared/run/run-record.ts';
import { joinUri } from '../shared/storage/uri.ts';
import { formatDuration, runProgress } from './run-progress.ts';
import { exitFor, STATUS_EXIT, type StatusOptions, statusJson } from './status-command.ts';
import { notFinishedError, readRunAt, recordOfStoredRun } from './stored-run.ts';

/**
 * `status <output>/<run>`: what a finished run's manifest and `_run.json` say, with no Redis. The
 * JSON has the shape of `status --json` on Redis; what only Redis knows (the queue, connected
 * workers, the unchanged/other split of skipped images) is null. A run without a manifest has not
 * finished and is refused, pointing to `status <run>` on its Redis.
 */
export async function storedStatusCommand(location: string, options: StatusOptions): Promise<number> {
  const stored = await readRunAt(location);
  if (stored.manifest === null) throw notFinishedError(stored, 'status');
  const record = recordOfStoredRun({ ...stored, manifest: stored.manifest });
  process.stdout.write(options.json ? `${JSON.stringify(storedStatusJson(record))}\n` : storedStatusText(record));
  return options.wait ? exitFor(record) : STATUS_EXIT.complete;
}

function storedStatusJson(record: RunRecord): object {
  const json = statusJson({ record, progress: runProgress(record), queue: {}, workers: null }) as {
    images: Record<string, number | null>;
  };
  return { ...json, images: { ...json.images, unchanged: null }, queue: null, workers: null, source: 'manifest' };
}

function storedStatusText(record: RunRecord): string {
  const progress = runProgress(record);
  const failed = record.shards.failed > 0 ? ` (${record.shards.failedShards.join(', ')})` : '';
  const lines = [
    `run       ${record.run} (done; from _manifest.json, no Redis)`,
    `input     ${record.input}`,
    `output    ${joinUri(record.output, record.run)}/`,
    `model     ${record.model}${record.modelSha256 ? ` (weights sha256 ${record.modelSha256.slice(0, 12)}…)` : ''}`,
    `images    ${record.images.total}: ${record.images.ok} ok, ${record.images.error} error; ${record.images.skipped} skipped`,
    `shards    ${record.shards.done}/${record.shards.total} done, ${record.shards.failed} failed${failed}`,
    `time      ${record.startedAt} to ${record.finishedAt} (${formatDuration(progress.elapsedSeconds)})`,
    `speed     ${progress.imagesPerSecond.toFixed(2)} img/s`,
    `engines   ${record.engines.join(', ') || '-'} (${record.precision})`,
  ];
  return `${lines.join('\n')}\n`;
}
