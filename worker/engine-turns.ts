import type { InferenceEngine } from '../shared/inference/engine.ts';

/**
 * Turns on an engine shared by the shards a worker runs at once (worker-command.ts
 * shardsInFlight): calls run one at a time, in arrival order, because every runtime here already
 * spreads one batch over every core, and two batches at once would only fight over them.
 *
 * It also keeps the engine's clock. A call that finds the engine idle (nothing running or
 * queued) reports how long it was idle, counted from `notBefore` at the earliest (the start of
 * the caller's shard), so that a worker with no work does not count as an engine waiting for
 * input, while the fill of a shard that no other shard covers does.
 */
interface EngineState {
  tail: Promise<unknown>;
  /** Calls running or queued. */
  pending: number;
  /** performance.now() when the engine last became idle. */
  idleSince: number;
}

export interface EngineTurn<T> {
  value: T;
  /** Seconds inside the call itself, queueing excluded. */
  inferSeconds: number;
  /** Seconds the engine sat idle before this call; 0 when it was busy with other calls. */
  waitSeconds: number;
}

const states = new WeakMap<InferenceEngine, EngineState>();

export async function takeEngineTurn<T>(
  engine: InferenceEngine,
  notBefore: number,
  call: () => Promise<T>,
): Promise<EngineTurn<T>> {
  let state = states.get(engine);
  if (!state) {
    state = { tail: Promise.resolve(), pending: 0, idleSince: notBefore };
    states.set(engine, state);
  }
  const arrived = performance.now();
  const waitSeconds = state.pending === 0 ? Math.max(0, arrived - Math.max(state.idleSince, notBefore)) / 1000 : 0;
  state.pending += 1;
  const previous = state.tail;
  const turn = previous.then(async () => {
    const started = performance.now();
    try {
      return { value: await call(), inferSeconds: (performance.now() - started) / 1000, waitSeconds };
    } finally {
      state.pending -= 1;
      if (state.pending === 0) state.idleSince = performance.now();
    }
  });
  state.tail = turn.catch(() => undefined); // a failed batch must not fail the calls queued behind it
  return turn;
}
