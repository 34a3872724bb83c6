import cliProgress from 'cli-progress';
import { configFromEnv } from '../shared/config.ts';
import { createLogger } from '../shared/observability/logger.ts';

import { type SubmitOptions, type SubmitProgress, type SubmitResult, submitRun } from './submit.ts';

/**
 * `resnet-batch submit <input> --output <uri> [--run <id>] [--shard-size K] [--model <uri>] [--precision fp32|int8] [--since <run>]`.
 *
 * stdout carries the run id alone on one line, so `RUN=$(resnet-batch submit ...)` works;
 * everything for people (progress, the summary, errors) goes to stderr. On a TTY the progress is
 * a live bar, elsewhere (CI logs, pipes) one line every PLAIN_PROGRESS_EVERY_MS.
 * Exit codes: 0 submitted (or already submitted); anything fatal is thrown, and bin/cli.ts prints
 * it and exits 1.
 */
/** The flags of `submit`: what submitRun takes but the input (an argument) and the schedule (set by a firing). */
export type SubmitCommandOptions = Omit<SubmitOptions, 'input' | 'schedule'>;

/** Interval of plain progress lines when stderr is not a terminal, in ms. */
export const PLAIN_PROGRESS_EVERY_MS = 5000;

export async function submitCommand(
  input: string,
  options: SubmitCommandOptions,
  stderr: NodeJS.WriteStream = process.stderr,
): Promise<number> {
  const progress = progressDisplay(stderr);
  try {
    const config = configFromEnv();
    const logger = createLogger('submit');
    const result = await submitRun({ input, ...options }, { config, logger, onProgress: progress.update });
    progress.stop();
    process.stdout.write(`${result.run}\n`);
    stderr.write(`${summary(result)}\n`);
    return 0;
  } finally {
    progress.stop();
  }
}

function summary(result: SubmitResult): string {
  const what = result.resubmitted
    ? result.enqueued === 0
      ? 'resubmitted, nothing missing to enqueue'
      : `resubmitted, ${result.enqueued} missing shard(s) enqueued`
    : `${result.enqueued} shard(s) enqueued`;
  const unchanged = result.skippedBy.unchanged > 0 ? ` (${result.skippedBy.unchanged} unchanged)` : '';
  const weights =
    result.model.weightsSha256 === null ? '' : `, weights sha256 ${result.model.weightsSha256.slice(0, 12)}…`;
  return `run ${result.run}: ${result.images} images in ${result.shards} shards, ${result.skipped} skipped${unchanged}; ${what} (model ${result.model.ref}${weights})`;
}

interface ProgressDisplay {
  update: (progress: SubmitProgress) => void;
  stop: () => void;
}

function progressDisplay(stderr: NodeJS.WriteStream): ProgressDisplay {
  if (stderr.isTTY !== true) return plainProgress(stderr);
  const bar = new cliProgress.SingleBar(
    {
      stream: stderr,
      format: 'listing {listed} objects | {images} images | {skipped} skipped | shards {enqueued}/{shards} enqueued',
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update: (progress) => {
      const payload = { ...progress };
      if (!started) bar.start(0, 0, payload);
      started = true;
      bar.update(0, payload);
    },
    stop: () => {
      if (started) bar.stop();
      started = false;
    },
  };
}

function plainProgress(stderr: NodeJS.WriteStream): ProgressDisplay {
  let lastAt = Date.now();
  return {
    update: (progress) => {
      if (Date.now() - lastAt < PLAIN_PROGRESS_EVERY_MS) return;
      lastAt = Date.now();
      stderr.write(
        `run ${progress.run}: listed ${progress.listed}, ${progress.images} images, ${progress.skipped} skipped, ${progress.enqueued}/${progress.shards} shards enqueued\n`,
      );
    },
    stop: () => undefined,
  };
}
