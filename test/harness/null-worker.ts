// A real worker process on the null engine (worker/engines/null-engine.ts: zeros, no model), which
// the CLI does not offer: for tests of what a worker process does around its engine (health
// endpoints, the /metrics it serves) without paying for a model load. Configured like
// `resnet-batch worker`, from the environment (REDIS_URL, QUEUE_PREFIX, METRICS_PORT, ...):
//
//   node --import tsx test/harness/null-worker.ts
import { workerCommand } from '../../worker/worker-command.ts';

process.exitCode = await workerCommand({ engine: 'null', batchSize: 2 });
