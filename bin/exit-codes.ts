/**
 * What each exit code of `resnet-batch` means, for scripts and supervisors. The commands return
 * these numbers themselves; this table is what README's CLI reference prints (npm run docs).
 */
export const EXIT_CODES: readonly { code: string; meaning: string }[] = [
  {
    code: '0',
    meaning:
      'success: every input has an ok row (classify, run, status --wait), the run exists (status), the output is clean (verify); a worker stopped by a signal',
  },
  {
    code: '1',
    meaning:
      'fatal: one line `resnet-batch: CODE: message` on stderr saying what to fix (bad flags or configuration included); status: no such run; a worker whose Redis did not answer for REDIS_UNREACHABLE_MS',
  },
  {
    code: '2',
    meaning:
      'partial: some images failed (classify); some inputs have an error row, or shards or finalising failed (run, status --wait; `resnet-batch failed <output>/<run>` lists the failed inputs for a new run); inputs missing, duplicated or mismatched, or parts or the manifest missing, damaged or unexpected (verify)',
  },
  { code: '124', meaning: 'status --wait: --timeout passed first (the run goes on)' },
  {
    code: '129, 130, 143',
    meaning: 'run stopped by SIGHUP, SIGINT (Ctrl-C) or SIGTERM: 128 + the signal number, as a shell reports it',
  },
];
