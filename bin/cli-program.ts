import { type Command, InvalidArgumentError, Option } from 'commander';
import type { CalibrateOptions } from '../ops/int8/calibrate-command.ts';
import type { EvaluateOptions } from '../ops/int8/evaluate-command.ts';
import type { RunCommandOptions } from '../ops/run-command.ts';
import type { RunsOptions } from '../ops/runs-command.ts';
import type { StatusOptions } from '../ops/status-command.ts';
import type { VerifyOptions } from '../ops/verify/verify-command.ts';
import type { SubmitCommandOptions } from '../producer/submit-command.ts';
import type { ScheduleAddOptions } from '../schedule/schedule-command.ts';
import { ENGINE_CHOICES, ENGINES } from '../shared/inference/engine.ts';
import { PRECISIONS } from '../shared/inference/precision.ts';
import { runFlagsOf } from '../shared/run/run-fields.ts';
import { isRunLocation, RUN_LOCATION_RULE } from '../shared/run/run-location.ts';
import { RUN_OPTIONS, type RunCommand } from '../shared/run/run-options.ts';
import { PROJECT_VERSION } from '../shared/source-location.ts';
import type { ClassifyOptions } from '../worker/classify-command.ts';
import type { WorkerCommandOptions } from '../worker/worker-command.ts';
import { SuggestingCommand } from './suggesting-command.ts';

/**
 * The `resnet-batch` command line, declared without parsing (bin/cli.ts parses it; the docs
 * generator reads it). Each command's work lives with its role (producer/, worker/,
 * schedule/, ops/), loaded only when that command runs; this file parses flags, documents them
 * with examples, and prints what a command throws in one format: `resnet-batch: CODE: message`.
 * Exit codes: bin/exit-codes.ts.
 */
export const program = new SuggestingCommand('resnet-batch')
  .description('Batch ResNet-50 inference: image URIs in, embeddings (.npy) and labels (Parquet) out')
  .version(PROJECT_VERSION, '-V, --version', 'print the version and exit')
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
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65_535) {
    throw new InvalidArgumentError(`expected a TCP port 0-65535, got '${value}'`);
  }
  return parsed;
}

/** The `Examples:` block at the end of a command's --help. */
function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((line) => `  $ ${line}`).join('\n')}\n`;
}

const INPUT =
  's3://bucket/prefix, a local folder, a list of image URIs or http(s) URLs (.txt, .jsonl, .csv, .parquet; local or s3://), or an S3 Inventory manifest.json';

/** The run definition's flags a command takes (shared/run/run-options.ts), added to `command` in the table's order. */
function withRunDefinitionOptions(command: Command, which: RunCommand): Command {
  for (const flag of runFlagsOf(which)) {
    const option = new Option(flag.syntax, flag.help);
    if (flag.choices) option.choices(flag.choices);
    if (flag.integer) option.argParser(positiveInt);
    if (flag.default !== undefined) option.default(flag.default);
    if (flag.required) option.makeOptionMandatory();
    command.addOption(option);
  }
  return command;
}

const engineOption = (): Option =>
  new Option(
    '--engine <engine>',
    `inference engine (default ENGINE or auto); auto picks the fastest this host runs, in this order: ${ENGINES.map(
      (engine) => `${engine.choice} (${engine.describe})`,
    ).join(', ')}`,
  ).choices([...ENGINE_CHOICES]);
const modelOption = (): Option => new Option(RUN_OPTIONS.model.flag.syntax, RUN_OPTIONS.model.flag.help);
const precisionOption = (): Option =>
  new Option(RUN_OPTIONS.precision.flag.syntax, RUN_OPTIONS.precision.flag.help).choices([...PRECISIONS]);
const jsonOption = (): Option => new Option('--json', 'machine-readable output on stdout').default(false);

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
  .addOption(modelOption())
  .addOption(precisionOption())
  .addHelpText(
    'after',
    examples(
      'resnet-batch classify photos/cat.jpg',
      'resnet-batch classify --json --top 1 ~/Pictures | jq .',
      'resnet-batch classify --precision int8 photos/',
    ),
  )
  .action(async (paths: string[], options: ClassifyOptions) => {
    const { classifyCommand } = await import('../worker/classify-command.ts');
    process.exitCode = await classifyCommand(paths, options);
  });

program
  .command('worker')
  .description('consume shard jobs from Redis until stopped (SIGTERM/SIGINT finish the current shard)')
  .addOption(engineOption())
  .option('--batch-size <n>', 'images per engine call (default BATCH_SIZE or 32)', positiveInt)
  .addOption(modelOption())
  .addOption(precisionOption())
  .option(
    '--metrics-port <port>',
    'port of Prometheus /metrics (default METRICS_PORT or 9464; 0 turns it off; when taken, a free port, logged)',
    port,
  )
  .option(
    '--shards-in-flight <n>',
    'shards worked on at once, sharing the engine (default SHARDS_IN_FLIGHT or 2; 1 = a crash loses only its own shard)',
    positiveInt,
  )
  .addHelpText(
    'after',
    examples(
      'REDIS_URL=redis://redis:6379 resnet-batch worker',
      'REDIS_URL=redis://redis:6379 resnet-batch worker --engine onnx --metrics-port 9465',
      'REDIS_URL=redis://redis:6379 resnet-batch worker --precision int8   # takes the shards of int8 runs',
    ),
  )
  .action(async (options: WorkerCommandOptions) => {
    const { workerCommand } = await import('../worker/worker-command.ts');
    const { ScheduledRunConsumer } = await import('../schedule/scheduled-run-consumer.ts');
    process.exitCode = await workerCommand(options, [(context) => new ScheduledRunConsumer(context)]);
  });

withRunDefinitionOptions(
  program
    .command('submit')
    .description('list an input, shard it and enqueue the shards; prints the run id on stdout')
    .argument('<input>', INPUT),
  'submit',
)
  .option('--run <id>', 'run id (default: generated); resubmitting an id enqueues only what is missing')
  .addHelpText(
    'after',
    examples(
      'RUN=$(resnet-batch submit s3://photos/2026/ --output s3://results/)',
      'resnet-batch submit list.jsonl --output ./out --run catalogue-v2 --shard-size 64',
      'resnet-batch submit s3://photos/ --output s3://results/ --precision int8   # workers started with --precision int8',
      'resnet-batch submit laion-part-00000.parquet --output s3://results/ --url-column URL   # other columns carried',
      'HTTP_ALLOWED_HOSTS=images.internal:8080 resnet-batch submit urls.csv --output ./out   # a private image server',
      'resnet-batch submit s3://inventory/photos/daily/2026-12-01T01-00Z/manifest.json --output s3://results/',
    ),
  )
  .action(async (input: string, options: SubmitCommandOptions) => {
    const { submitCommand } = await import('../producer/submit-command.ts');
    process.exitCode = await submitCommand(input, options);
  });

const schedule = program
  .command('schedule')
  .description('runs submitted on a cron schedule; running workers submit them when they fire');

withRunDefinitionOptions(
  schedule
    .command('add')
    .description('add (or replace) a schedule; the input and output are checked as submit checks them')
    .argument(
      '<name>',
      'schedule name (1-48 of A-Z a-z 0-9 . _ -); runs are named <name>-YYYYMMDD-HHMMSS (UTC fire time)',
    )
    .argument('<input>', INPUT)
    .requiredOption(
      '--cron <expr>',
      'cron pattern: "min hour day month weekday" (e.g. "0 3 * * *"), 6 fields with leading seconds, or @daily etc.',
    )
    .option('--tz <zone>', 'IANA time zone of the pattern, e.g. Europe/Paris (default UTC)')
    .option('--incremental', "process only images new or changed since the schedule's last finished run", false),
  'schedule add',
)
  .addHelpText(
    'after',
    examples('resnet-batch schedule add nightly s3://photos/ --output s3://results/ --cron "0 3 * * *" --incremental'),
  )
  .action(async (name: string, input: string, options: ScheduleAddOptions) => {
    const { scheduleAddCommand } = await import('../schedule/schedule-command.ts');
    process.exitCode = await scheduleAddCommand(name, input, options);
  });

schedule
  .command('ls')
  .description('list schedules: cron, next firing, last run, skipped firings')
  .addOption(jsonOption())
  .addHelpText('after', examples('resnet-batch schedule ls', 'resnet-batch schedule ls --json | jq ".[].name"'))
  .action(async (options: { json: boolean }) => {
    const { scheduleListCommand } = await import('../schedule/schedule-command.ts');
    process.exitCode = await scheduleListCommand(options);
  });

schedule
  .command('rm')
  .description('remove a schedule (its runs and history stay)')
  .argument('<name>', 'schedule name')
  .addHelpText('after', examples('resnet-batch schedule rm nightly'))
  .action(async (name: string) => {
    const { scheduleRemoveCommand } = await import('../schedule/schedule-command.ts');
    process.exitCode = await scheduleRemoveCommand(name);
  });

program
  .command('status')
  .description(
    'progress, throughput, ETA, workers and failures of a run; exit 0 when the run exists, 1 when not (see --wait)',
  )
  .argument('<run>', RUN_LOCATION_RULE)
  .addOption(jsonOption())
  .option(
    '--wait',
    'block until the run ends (a live line on a terminal), then exit 0 if every input has an ok row, 2 if some have error rows or shards or finalising failed',
    false,
  )
  .addOption(
    new Option('--timeout <seconds>', 'with --wait: give up after this long, exit 124 (the run goes on)').argParser(
      positiveInt,
    ),
  )
  .addHelpText(
    'after',
    examples(
      'resnet-batch status 20261201-120000-a1b2c3',
      'resnet-batch status "$RUN" --json | jq .images',
      'resnet-batch status "$RUN" --wait --timeout 3600 && echo "every input has an ok row"',
      'resnet-batch status ./out/20261201-120000-a1b2c3 --json   # after run, no Redis',
    ),
  )
  .action(async (run: string, options: StatusOptions) => {
    if (options.timeout !== undefined && !options.wait) throw new InvalidArgumentError('--timeout needs --wait');
    if (isRunLocation(run)) {
      const { storedStatusCommand } = await import('../ops/stored-status.ts');
      process.exitCode = await storedStatusCommand(run, options);
      return;
    }
    const { statusCommand } = await import('../ops/status-command.ts');
    process.exitCode = await statusCommand(run, options);
  });

program
  .command('runs')
  .description('list runs, newest first: id, state, images ok and error of total, started, finished')
  .option('--limit <n>', 'at most this many runs', positiveInt, 50)
  .option(
    '--output <prefix>',
    "list the runs stored under this output prefix (its <run>/_run.json), from storage alone with no Redis; state 'unfinished' until a run's manifest is written",
  )
  .addOption(jsonOption())
  .addHelpText(
    'after',
    examples(
      'resnet-batch runs',
      'resnet-batch runs --json | jq -r \'.[] | select(.state != "done") | .run\'',
      'resnet-batch runs --output s3://results/embeddings   # no Redis',
    ),
  )
  .action(async (options: RunsOptions & { output?: string }) => {
    if (options.output !== undefined) {
      const { storedRunsCommand } = await import('../ops/stored-runs.ts');
      process.exitCode = await storedRunsCommand({ ...options, output: options.output });
      return;
    }
    const { runsCommand } = await import('../ops/runs-command.ts');
    process.exitCode = await runsCommand(options);
  });

program
  .command('retry')
  .description('enqueue the failed shards of a run again')
  .argument('<run>', 'run id')
  .addHelpText('after', examples('resnet-batch retry "$RUN"'))
  .action(async (run: string) => {
    const { retryCommand } = await import('../ops/retry-command.ts');
    process.exitCode = await retryCommand(run);
  });

program
  .command('failed')
  .description(
    'list the inputs of a run that have an error row, one URI a line: a list `run` and `submit` take, to process only them again as a new run once the cause is fixed (no Redis needed)',
  )
  .argument('<location>', "the run's folder: its --output, then the run id (a folder or s3:// URI)")
  .addHelpText(
    'after',
    examples(
      'resnet-batch failed ./out/20261201-120000-a1b2c3 > failed.txt',
      'resnet-batch run failed.txt --output ./out',
      'resnet-batch failed s3://results/catalogue-v2 | wc -l',
    ),
  )
  .action(async (location: string) => {
    const { failedCommand } = await import('../ops/failed-command.ts');
    process.exitCode = await failedCommand(location);
  });

program
  .command('verify')
  .description(
    "re-read a run's input and output: every input missing, duplicated or mismatched, every part missing, damaged (sha256) or unexpected (exit 0 clean, 2 not)",
  )
  .argument('<run>', "run id, or the run's folder <output>/<run> (folder or s3://): verified from storage alone")
  .option('--output <uri>', "verify from storage alone: the run's output root (its <run>/_run.json), without Redis")
  .addOption(jsonOption())
  .addHelpText(
    'after',
    examples(
      'resnet-batch verify "$RUN"',
      'resnet-batch verify ./out/catalogue-v2',
      'resnet-batch verify catalogue-v2 --output s3://results/ --json | jq .problems',
    ),
  )
  .action(async (run: string, options: VerifyOptions) => {
    const { verifyCommand } = await import('../ops/verify/verify-command.ts');
    process.exitCode = await verifyCommand(run, options);
  });

withRunDefinitionOptions(
  program
    .command('run')
    .description(
      'submit, start N local workers and wait: the one-command local job (own Redis when REDIS_URL is unset)',
    )
    .argument('<input>', INPUT),
  'run',
)
  .option('--run <id>', 'run id (default: generated)')
  .option('--workers <n>', 'local worker processes', positiveInt, 1)
  .option('--batch-size <n>', 'images per engine call', positiveInt)
  .addOption(engineOption())
  .addHelpText(
    'after',
    examples(
      'resnet-batch run ./photos --output ./results',
      'resnet-batch run ./photos --output ./results --precision int8',
      'resnet-batch run s3://photos/ --output s3://results/ --workers 2',
      'resnet-batch run urls.csv --output ./results   # a url column of http(s) image URLs, the other columns carried',
    ),
  )
  .action(async (input: string, options: RunCommandOptions) => {
    const [{ runCommand }, { startWorker }] = await Promise.all([
      import('../ops/run-command.ts'),
      import('../worker/worker-service.ts'),
    ]);
    // The first worker runs inside `run` (one Node start, not two). Unlike `resnet-batch worker`
    // it takes no fired schedules: it lives only as long as this run.
    const { engine, batchSize, model, precision } = options;
    process.exitCode = await runCommand(input, options, (context) =>
      startWorker({ engine, batchSize, model, precision, metricsPort: context.config.METRICS_PORT }, context),
    );
  });

program
  .command('calibrate')
  .description(
    'make the int8 model from your own images and write a model folder that --model <uri> --precision int8 runs',
  )
  .argument('<input>', `calibration images: ${INPUT} (the first --images of them, in key order)`)
  .requiredOption('--output <model-uri>', 'model folder to write: a local folder, file:// or s3:// prefix')
  .option(
    '--images <n>',
    'calibration images; 32-64 varied ones are enough (about 0.3 s each on 2 cores)',
    positiveInt,
    64,
  )
  .addOption(modelOption())
  .addOption(jsonOption())
  .addHelpText(
    'after',
    examples(
      'resnet-batch calibrate ./sample-photos --output ./models/resnet50-mine',
      'resnet-batch calibrate s3://photos/sample/ --images 64 --output s3://models/resnet50-mine/ --json',
      'resnet-batch run s3://photos/ --output s3://results/ --model s3://models/resnet50-mine/ --precision int8',
    ),
  )
  .action(async (input: string, options: CalibrateOptions) => {
    const { calibrateCommand } = await import('../ops/int8/calibrate-command.ts');
    process.exitCode = await calibrateCommand(input, options);
  });

program
  .command('evaluate')
  .description('run fp32 and int8 on the same images: top-1 agreement, fp32 top-1 within int8 top-5, embedding cosine')
  .argument('<input>', `images to compare on: ${INPUT} (the first --images of them, in key order)`)
  .addOption(
    new Option('--precision <precision>', 'the precision compared with fp32').choices(['int8']).default('int8'),
  )
  .option('--images <n>', 'images to compare', positiveInt, 200)
  .addOption(modelOption())
  .addOption(jsonOption())
  .addHelpText(
    'after',
    examples(
      'resnet-batch evaluate ./holdout-photos',
      'resnet-batch evaluate s3://photos/sample/ --model s3://models/resnet50-mine/ --json | jq .top1Agreement',
    ),
  )
  .action(async (input: string, options: EvaluateOptions) => {
    const { evaluateCommand } = await import('../ops/int8/evaluate-command.ts');
    process.exitCode = await evaluateCommand(input, options);
  });

program
  .command('dashboard')
  .description(
    'serve bull-board for the shard queue and a list of runs (basic auth: DASHBOARD_USER, DASHBOARD_PASSWORD)',
  )
  .option(
    '--host <address>',
    'address to bind; a non-loopback address requires DASHBOARD_USER and DASHBOARD_PASSWORD',
    '127.0.0.1',
  )
  .option('--port <port>', 'TCP port', port, 3000)
  .addHelpText(
    'after',
    examples(
      'resnet-batch dashboard',
      'DASHBOARD_USER=ops DASHBOARD_PASSWORD=... resnet-batch dashboard --host 0.0.0.0',
    ),
  )
  .action(async (options: { host: string; port: number }) => {
    const { dashboardCommand } = await import('../ops/dashboard/dashboard-command.ts');
    process.exitCode = await dashboardCommand(options);
  });

program
  .command('report')
  .description('write a self-contained HTML page about a run: totals, throughput, labels, errors, sample thumbnails')
  .argument('<run>', RUN_LOCATION_RULE)
  .option('--out <file>', 'HTML file to write (default: report-<run>.html in the current folder)')
  .addHelpText(
    'after',
    examples(
      'resnet-batch report "$RUN" --out report.html',
      'resnet-batch report ./out/20261201-120000-a1b2c3   # after run, no Redis',
    ),
  )
  .action(async (run: string, options: { out?: string }) => {
    const { reportCommand } = await import('../ops/report/report-command.ts');
    process.exitCode = await reportCommand(run, options);
  });
