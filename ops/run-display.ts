// What `resnet-batch run` prints while it waits and once it is done (ops/run-command.ts).
import cliProgress from 'cli-progress';
import { eraseTerminalLine, setLiveLine } from '../shared/observability/live-line.ts';
import type { RunRecord } from '../shared/run/run-record.ts';
import { joinUri, localPathOf } from '../shared/storage/uri.ts';
import { type ErrorCodeCount, errorCodeLines } from './run-errors.ts';
import { formatDuration, type RunProgress, runProgress } from './run-progress.ts';

/**
 * The run's progress on stderr: a bar on a terminal, redrawn at every poll, once `workers` have
 * settled; elsewhere (a log, CI) a line every 5 s.
 */
export function progressDisplay(workers: { readonly settled: boolean }): {
  show(record: RunRecord, progress: RunProgress): void;
  close(): void;
} {
  const bar = process.stderr.isTTY
    ? new cliProgress.SingleBar(
        {
          format: ' {bar} {value}/{total} images | {speed} img/s | ETA {remaining} | {errors} errors',
          stream: process.stderr,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  let lastLine = 0;
  let latest: { record: RunRecord; progress: RunProgress } | undefined;
  const draw = (record: RunRecord, progress: RunProgress) => {
    const { speed, eta } = rateWords(progress);
    bar?.setTotal(record.images.total);
    bar?.update(progress.processed, { speed, errors: record.images.error, remaining: eta });
  };
  return {
    show(record, progress) {
      latest = { record, progress };
      if (bar) {
        // Drawn once the model is loaded here: the engine thread's logs before it would break the line.
        if (!bar.isActive && workers.settled) {
          bar.start(record.images.total, 0, { speed: '0', errors: 0, remaining: '-' });
          setLiveLine(eraseTerminalLine(process.stderr));
        }
        if (bar.isActive) draw(record, progress);
      } else if (Date.now() - lastLine > 5000) {
        const { speed, eta } = rateWords(progress);
        process.stderr.write(
          `progress: ${progress.processed}/${record.images.total} images, ${record.shards.done + record.shards.failed}/${record.shards.total} shards, ${speed} img/s, ETA ${eta}\n`,
        );
        lastLine = Date.now();
      }
    },
    close() {
      setLiveLine(undefined);
      // A run that ended before the bar was first drawn (the model loaded as the last shard
      // finished) still ends on its final bar, so a terminal always shows the totals it reached.
      if (bar && !bar.isActive && latest) {
        bar.start(latest.record.images.total, 0, { speed: '0', errors: 0, remaining: '-' });
        draw(latest.record, latest.progress);
      }
      bar?.stop();
    },
  };
}

/** The speed (the last minute's, else the whole run's) and the ETA as the bar and the log line print them. */
function rateWords(progress: RunProgress): { speed: string; eta: string } {
  return {
    speed: (progress.recentImagesPerSecond || progress.imagesPerSecond).toFixed(1),
    eta: progress.etaSeconds === null ? '-' : formatDuration(progress.etaSeconds),
  };
}

/** The line once the run is submitted: what it holds and who works on it. */
export function printSubmitted(
  submitted: { run: string; images: number; shards: number; skipped: number },
  workers: number,
): void {
  process.stderr.write(
    `run ${submitted.run}: ${submitted.images} images in ${submitted.shards} shards (${submitted.skipped} skipped), ${workers} worker(s)\n`,
  );
}

/**
 * The lines once the run is done (stderr), and its id alone on stdout for scripts. With error
 * rows: their codes with counts and first reasons (`codes`, read from the run's errors/ parts by
 * ops/run-errors.ts; null when they could not be read), and how to process the failed inputs
 * again, since running the same `--run` again reuses its committed error rows.
 */
export function printSummary(record: RunRecord, codes: readonly ErrorCodeCount[] | null = []): void {
  const progress = runProgress(record);
  const failed = record.shards.failed
    ? `, ${record.shards.failed} shard(s) failed: ${record.shards.failedShards.join(', ')} (resnet-batch retry ${record.run})`
    : '';
  const folder = `${record.output.replace(/\/+$/, '')}/${record.run}`;
  process.stderr.write(
    `done: ${record.images.ok} ok, ${record.images.error} error, ${record.images.skipped} skipped in ${progress.elapsedSeconds.toFixed(1)} s (${progress.imagesPerSecond.toFixed(2)} img/s)${failed}\n` +
      (record.images.error > 0 ? errorLines(record, folder, codes) : '') +
      `output: ${folder}/ (embeddings/*.npy, metadata/*.parquet, errors/*.parquet, _manifest.json)\n`,
  );
  process.stdout.write(`${record.run}\n`);
}

function errorLines(record: RunRecord, folder: string, codes: readonly ErrorCodeCount[] | null): string {
  const byCode =
    codes === null
      ? ['  (the error rows could not be read back; they are in errors/*.parquet)']
      : errorCodeLines(codes);
  return [
    `errors by code (each reason says how to fix it):`,
    ...byCode,
    `to process only the failed inputs once fixed, as a new run: resnet-batch failed ${shellWord(folder)} > failed.txt && resnet-batch run failed.txt --output ${shellWord(record.output.replace(/\/+$/, ''))}`,
    (record.images.reused ?? 0) > 0
      ? `(${record.images.reused} of this run's rows were committed by an earlier attempt and reused as they are, error rows included: this command again with --run ${record.run} keeps the committed error rows)`
      : `(this command again with --run ${record.run} keeps the committed error rows as they are)`,
    '',
  ].join('\n');
}

/** After the summary: what works on the run from its output alone, once this run's Redis is gone. */
export function printNextCommands(record: RunRecord): void {
  const commands = commandsFromOutput(record.output, record.run);
  process.stderr.write(`from its output, with no Redis:\n${commands.map((command) => `  ${command}\n`).join('')}`);
}

/** The commands that work on a finished run from its output alone, for `run`'s closing lines. */
export function commandsFromOutput(output: string, run: string): string[] {
  const location = shellWord(joinUri(output, run));
  return [`resnet-batch report ${location}`, `resnet-batch status ${location}`, `resnet-batch verify ${location}`];
}

/** A URI as a user types it: a local one as its path, quoted for a POSIX shell when it needs it. */
function shellWord(uri: string): string {
  const shown = localPathOf(uri) ?? uri;
  return /^[A-Za-z0-9._/:@%+=-]+$/.test(shown) ? shown : `'${shown.replace(/'/g, "'\\''")}'`;
}
