import type { z } from 'zod';

/**
 * The problems of a failed schema parse as one line, `path: message; ...`, the first `limit` of
 * them: what every payload parser (job payloads, fired schedules) puts after "is invalid".
 */
export function schemaProblems(error: z.ZodError, limit = 5): string {
  return error.issues
    .slice(0, limit)
    .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
}
