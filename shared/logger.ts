import { destination, type Logger, pino } from 'pino';

/**
 * One structured logger for every process (producer, worker, run). JSON lines on stderr so that
 * stdout stays free for command output (`classify --json`, `status --json`).
 * LOG_LEVEL: trace|debug|info|warn|error|fatal|silent, default info.
 *
 * Redaction is the last line of defence for secrets: configuration never logs credentials or
 * Redis passwords in the first place (see shared/config.ts redactUrl).
 */
export function createLogger(name: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino(
    {
      name,
      level,
      redact: {
        paths: ['password', '*.password', 'secretAccessKey', '*.secretAccessKey', 'credentials', '*.credentials'],
        censor: '[redacted]',
      },
    },
    destination(2),
  );
}

export type { Logger };
