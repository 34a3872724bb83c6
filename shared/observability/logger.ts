import { createRequire } from 'node:module';
import { isatty } from 'node:tty';
import { type DestinationStream, destination, type Logger, pino } from 'pino';
import type { PrettyOptions } from 'pino-pretty';
import { clearLiveLine } from './live-line.ts';
import { colourWanted, logFormatFromEnv, logLevelFromEnv } from './log-format.ts';

/**
 * One structured logger for every process (producer, worker, run), always on stderr so that
 * stdout stays free for command output (`classify --json`, `status --json`, run ids).
 * LOG_LEVEL and LOG_FORMAT (documented in shared/config.ts, read in log-format.ts): JSON lines for log collectors and `jq`, or readable lines
 * (`12:00:01.123 WARN (worker): message {fields}`) for people; by default readable when stderr
 * is a terminal, JSON otherwise.
 *
 * Readable lines come from pino-pretty used as a synchronous stream in this thread, not as a
 * pino transport: a transport runs in a worker thread of its own (tens of milliseconds more at
 * every start) and loses its last lines when the process exits at once (process.exit after a
 * second Ctrl-C), where a synchronous write to fd 2 has already happened.
 *
 * Redaction is the last line of defence for secrets: configuration never logs credentials or
 * Redis passwords in the first place (see shared/config.ts redactUrl).
 */
export function createLogger(name: string, level = logLevelFromEnv()): Logger {
  return pino(
    {
      name,
      level,
      redact: {
        paths: ['password', '*.password', 'secretAccessKey', '*.secretAccessKey', 'credentials', '*.credentials'],
        censor: '[redacted]',
      },
    },
    logStream(),
  );
}

/** Whether this process's logs are readable lines (true) or JSON (false), as createLogger writes them. */
export function logsArePretty(env: NodeJS.ProcessEnv = process.env): boolean {
  const format = logFormatFromEnv(env);
  // isatty(2) rather than process.stderr.isTTY: it answers the same in a worker thread (the
  // engine thread logs too), whose process.stderr is a pipe to the main thread.
  return format === 'pretty' || (format === 'auto' && isatty(2));
}

/** One stream per thread, shared by its loggers. */
let stream: DestinationStream | undefined;

function logStream(): DestinationStream {
  stream ??= belowLiveLine(logsArePretty() ? prettyStream() : destination({ dest: 2, sync: true }));
  return stream;
}

/** Each write erases the live line first (shared/observability/live-line.ts), so a log line never lands inside it. */
function belowLiveLine(inner: DestinationStream): DestinationStream {
  return {
    write(line: string) {
      clearLiveLine();
      return inner.write(line);
    },
  };
}

function prettyStream(): DestinationStream {
  // Loaded only for people at a terminal: JSON output never pays for it.
  const pretty = createRequire(import.meta.url)('pino-pretty') as (options: PrettyOptions) => DestinationStream;
  return pretty({
    destination: 2,
    sync: true,
    colorize: isatty(2) && colourWanted(),
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
    singleLine: true,
    // Only 'err' holds errors here; 'error' is a count in several lines ("shard done").
    errorLikeObjectKeys: ['err'],
  });
}

export type { Logger };
