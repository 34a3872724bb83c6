/**
 * LOG_FORMAT's and LOG_LEVEL's values (documented with the variables in shared/config.ts, which
 * validates them at start; shared/observability/logger.ts applies them), and the one place the
 * logger reads them. A file of its own so that the logger, which every thread loads, does not
 * load zod with the configuration schema.
 */
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** pino's levels, most verbose first; 'silent' logs nothing. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** LOG_LEVEL when set, else `fallback`: 'info', or 'warn' for the workers `run` starts for itself. */
export function logLevelFromEnv(fallback: LogLevel = 'info', env: NodeJS.ProcessEnv = process.env): string {
  return env.LOG_LEVEL ?? fallback;
}

/** LOG_FORMAT when it is one of LOG_FORMATS, else 'auto' (configFromEnv refuses other values at start). */
export function logFormatFromEnv(env: NodeJS.ProcessEnv = process.env): LogFormat {
  return (LOG_FORMATS as readonly string[]).includes(env.LOG_FORMAT ?? '') ? (env.LOG_FORMAT as LogFormat) : 'auto';
}

/** NO_COLOR set to anything but the empty string (no-color.org) turns off colour in readable log lines. */
export function colourWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  return !env.NO_COLOR;
}
