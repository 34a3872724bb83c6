// A worker process for `npm run bench`, like `resnet-batch worker` but able to run the null
// engine, which the CLI does not offer (worker/engines/open-engine.ts NULL_ENGINE_CHOICE):
//
//   node --import tsx bench/bench-worker.ts <null|onnx|...> <batch size>
import type { WorkerCommandOptions } from '../worker/worker-command.ts';
import { workerCommand } from '../worker/worker-command.ts';

const [engine = 'null', batchSize = '32'] = process.argv.slice(2);
process.exitCode = await workerCommand({
  engine: engine as WorkerCommandOptions['engine'],
  batchSize: Number(batchSize),
  metricsPort: 0,
});
