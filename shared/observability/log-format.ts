/**
 * LOG_FORMAT's values (documented with the variable in shared/config.ts; shared/observability/logger.ts applies
 * it). A file of its own so that the logger, which every thread loads, does not load zod with
 * the configuration schema.
 */
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
