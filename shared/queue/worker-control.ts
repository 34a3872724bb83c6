/**
 * The message `resnet-batch run` sends a worker it started (ops/local-workers.ts) over their IPC
 * channel, and the worker obeys (worker/worker-command.ts): stop taking shards, and either finish
 * the current ones (`force: false`) or give them back at once (`force: true`). A message rather
 * than signals: two signals sent back to back may arrive as one, and the worker's second-signal
 * rule would then miss the forced stop.
 */
export interface StopWorkerMessage {
  type: 'stop';
  force: boolean;
}

export function isStopWorkerMessage(message: unknown): message is StopWorkerMessage {
  const candidate = message as Partial<StopWorkerMessage> | null;
  return candidate?.type === 'stop' && typeof candidate.force === 'boolean';
}
