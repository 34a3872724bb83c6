import { Command, InvalidArgumentError, Option } from 'commander';
import { ENGINE_CHOICES, ENGINES, type EngineChoice } from '../shared/engine.ts';
import { describeError, ResnetBatchError } from '../shared/errors.ts';

/**
 * The `resnet-batch` command line. Each command's work lives with its stage (worker/,
 * producer/); this file only parses flags and maps errors to exit codes: 0 success, 1 fatal
 * (bad configuration included, with one line saying what to fix), 2 partial (some images failed).
 */
const program = new Command('resnet-batch')
  .description('Batch ResNet-50 inference: image URIs in, embeddings (.npy) and labels (Parquet) out')
  .showHelpAfterError()
  .configureOutput({ outputError: (text, write) => write(text) });

function positiveInt(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1)
    throw new InvalidArgumentError(`expected a positive integer, got '${value}'`);
  return parsed;
}

function port(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65_535)
    throw new InvalidArgumentError(`expected a TCP port 0-65535, got '${value}'`);
  return parsed;
}

const engineOption = (): Option =>
  new Option(
    '--engine <engine>',
    `inference engine (default ENGINE or auto); auto picks the fastest this host runs, in this order: ${ENGINES.map((engine) => `${engine.choice} (${engine.describe})`).join(', ')}`,
  ).choices([...ENGINE_CHOICES]);

program
  .command('classify')
  .description('print the top-k ImageNet labels of local image files and folders')
  .argument('<paths...>', 'image files or folders (searched recursively)')
  .option(
    '--json',
    'one JSON object per line: {"file", "top": [{"label", "index", "score"}]} or {"file", "error"}',
    false,
  )
  .option('--top <k>', 'labels per image', positiveInt, 5)
  .option('--batch-size <n>', 'images per engine call', positiveInt, 32)
  .addOption(engineOption())
  .option('--model <uri>', 'model location: a folder, file:// or s3:// URI (default: the local cache)')
  .action(
    async (
      paths: string[],
      options: { json: boolean; top: number; batchSize: number; engine?: EngineChoice; model?: string },
    ) => {
      const { classifyCommand } = await import('../worker/classify-command.ts');
      process.exitCode = await classifyCommand(paths, options);
    },
  );

program
  .command('worker')
  .description('consume shard jobs from Redis until stopped (SIGTERM/SIGINT finish the current shard)')
  .addOption(engineOption())
  .option('--batch-size <n>', 'images per engine call (default BATCH_SIZE or 32)', positiveInt)
  .option('--model <uri>', 'model location (default MODEL_URI or the local cache)')
  .option('--metrics-port <port>', 'port of Prometheus /metrics (default METRICS_PORT or 9464; 0 turns it off)', port)
  .option(
    '--shards-in-flight <n>',
    'shards worked on at once, sharing the engine (default SHARDS_IN_FLIGHT or 2; 1 = a crash loses only its own shard)',
    positiveInt,
  )
  .action(
    async (options: {
      engine?: EngineChoice;
      batchSize?: number;
      model?: string;
      metricsPort?: number;
      shardsInFlight?: number;
    }) => {
      const { workerCommand } = await import('../worker/worker-command.ts');
      const { ScheduledRunConsumer } = await import('../schedule/scheduled-run-consumer.ts');
      process.exitCode = await workerCommand(options, [(context) => new ScheduledRunConsumer(context)]);
    },
  );

program
  .command('submit')
  .description('list an input, shard it and enqueue the shards; prints the run id')
  .argument('<input>', 's3://bucket/prefix, a local folder, or a .txt/.jsonl manifest of URIs')
  .requiredOption('--output <uri>', 'where results go: s3://bucket/prefix or a local folder')
  .option('--run <id>', 'run id (default: generated); resubmitting an id enqueues only what is missing')
  .option('--shard-size <k>', 'images per shard job', positiveInt, 256)
  .option('--model <uri>', 'model the workers must run (default MODEL_URI or the local cache)')
  .option(
    '--since <run>',
    'process only images new or changed (another ETag) since this finished run; all of them when its model differs',
  )
  .action(
    async (
      input: string,
      options: { output: string; run?: string; shardSize: number; model?: string; since?: string },
    ) => {
      const { submitCommand } = await import('../producer/submit-command.ts');
      process.exitCode = await submitCommand(input, options);
    },
  );

const schedule = program
  .command('schedule')
  .description('runs submitted on a cron schedule; running workers submit them when they fire');

schedule
  .command('add')
  .description('add (or replace) a schedule; the input and output are checked as submit checks them')
  .argument(
    '<name>',
    'schedule name (1-48 of A-Z a-z 0-9 . _ -); runs are named <name>-YYYYMMDD-HHMMSS (UTC fire time)',
  )
  .argument('<input>', 's3://bucket/prefix, a local folder, or a .txt/.jsonl manifest of URIs')
  .requiredOption(
    '--cron <expr>',
    'cron pattern: "min hour day month weekday" (e.g. "0 3 * * *"), 6 fields with leading seconds, or @daily etc.',
  )
  .option('--tz <zone>', 'IANA time zone of the pattern, e.g. Europe/Paris (default UTC)')
  .requiredOption('--output <uri>', 'where results go: s3://bucket/prefix or a local folder')
  .option('--incremental', "process only images new or changed since the schedule's last finished run", false)
  .option('--shard-size <k>', 'images per shard job', positiveInt, 256)
  .option('--model <uri>', 'model the workers must run (default MODEL_URI or the local cache)')
  .action(
    async (
      name: string,
      input: string,
      options: { cron: string; tz?: string; output: string; incremental: boolean; shardSize: number; model?: string },
    ) => {
      const { scheduleAddCommand } = await import('../schedule/schedule-command.ts');
      process.exitCode = await scheduleAddCommand(name, input, options);
    },
  );

schedule
  .command('ls')
  .description('list schedules: cron, next firing, last run, skipped firings')
  .option('--json', 'machine-readable output', false)
  .action(async (options: { json: boolean }) => {
    const { scheduleListCommand } = await import('../schedule/schedule-command.ts');
    process.exitCode = await scheduleListCommand(options);
  });

schedule
  .command('rm')
  .description('remove a schedule (its runs and history stay)')
  .argument('<name>', 'schedule name')
  .action(async (name: string) => {
    const { scheduleRemoveCommand } = await import('../schedule/schedule-command.ts');
    process.exitCode = await scheduleRemoveCommand(name);
  });

program
  .command('status')
  .description('progress, throughput, ETA and failures of a run')
  .argument('<run>', 'run id')
  .option('--json', 'machine-readable output', false)
  .action(async (run: string, options: { json: boolean }) => {
    const { statusCommand } = await import('../ops/status-command.ts');
    process.exitCode = await statusCommand(run, options);
  });

program
  .command('retry')
  .description('enqueue the failed shards of a run again')
  .argument('<run>', 'run id')
  .action(async (run: string) => {
    const { retryCommand } = await import('../ops/retry-command.ts');
    process.exitCode = await retryCommand(run);
  });

program
  .command('run')
  .description(
    'submit, start N local workers and wait: the one-command local job (starts its own Redis when REDIS_URL is unset)',
  )
  .argument('<input>', 's3://bucket/prefix, a local folder, or a .txt/.jsonl manifest of URIs')
  .requiredOption('--output <uri>', 'where results go: s3://bucket/prefix or a local folder')
  .option('--run <id>', 'run id (default: generated)')
  .option('--workers <n>', 'local worker processes', positiveInt, 1)
  .option('--shard-size <k>', 'images per shard job', positiveInt, 256)
  .option('--batch-size <n>', 'images per engine call', positiveInt)
  .addOption(engineOption())
  .option('--model <uri>', 'model location (default MODEL_URI or the local cache)')
  .action(
    async (
      input: string,
      options: {
        output: string;
        run?: string;
        workers: number;
        shardSize: number;
        batchSize?: number;
        engine?: EngineChoice;
        model?: string;
      },
    ) => {
      const { runCommand } = await import('../ops/run-command.ts');
      process.exitCode = await runCommand(input, options);
    },
  );

program
  .command('dashboard')
  .description(
    'serve bull-board for the shard queue and a list of runs (basic auth: DASHBOARD_USER, DASHBOARD_PASSWORD)',
  )
  .option(
    '--host <address>',
    'address to bind; any non-loopback address requires DASHBOARD_USER and DASHBOARD_PASSWORD',
    '127.0.0.1',
  )
  .option('--port <port>', 'TCP port', port, 3000)
  .action(async (options: { host: string; port: number }) => {
    const { dashboardCommand } = await import('../ops/dashboard/dashboard-command.ts');
    process.exitCode = await dashboardCommand(options);
  });

program
  .command('report')
  .description('write a self-contained HTML page about a run: totals, throughput, labels, errors, sample thumbnails')
  .argument('<run>', 'run id')
  .option('--out <file>', 'HTML file to write (default: report-<run>.html in the current folder)')
  .action(async (run: string, options: { out?: string }) => {
    const { reportCommand } = await import('../ops/report/report-command.ts');
    process.exitCode = await reportCommand(run, options);
  });

try {
  await program.parseAsync(process.argv);
} catch (error) {
  const code = error instanceof ResnetBatchError ? `${error.code}: ` : '';
  process.stderr.write(`resnet-batch: ${code}${describeError(error)}\n`);
  if (process.env.DEBUG && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  process.exitCode = 1;
}
