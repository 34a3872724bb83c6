import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { takeEngineTurn } from '../../worker/engine-turns.ts';
import { NullEngine } from '../../worker/engines/null-engine.ts';

test('calls on one engine run one at a time in arrival order', async () => {
  const engine = new NullEngine();
  const events: string[] = [];
  const call = (name: string, ms: number) => async () => {
    events.push(`${name} start`);
    await sleep(ms);
    events.push(`${name} end`);
    return name;
  };
  const start = performance.now();
  const turns = await Promise.all([
    takeEngineTurn(engine, start, call('a', 30)),
    takeEngineTurn(engine, start, call('b', 5)),
    takeEngineTurn(engine, start, call('c', 5)),
  ]);
  assert.deepEqual(events, ['a start', 'a end', 'b start', 'b end', 'c start', 'c end']);
  assert.deepEqual(
    turns.map((turn) => turn.value),
    ['a', 'b', 'c'],
  );
});

test('a call queued behind another reports no engine wait and only its own seconds', async () => {
  const engine = new NullEngine();
  const start = performance.now();
  const [, second] = await Promise.all([
    takeEngineTurn(engine, start, () => sleep(40)),
    takeEngineTurn(engine, start, () => sleep(5)),
  ]);
  assert.equal(second.waitSeconds, 0);
  assert.ok(second.inferSeconds < 0.035, `inferSeconds ${second.inferSeconds}`);
});

test('a call that finds the engine idle reports the idle time since the caller started', async () => {
  const engine = new NullEngine();
  const start = performance.now();
  await sleep(50);
  const turn = await takeEngineTurn(engine, start, async () => 1);
  assert.ok(turn.waitSeconds >= 0.045 && turn.waitSeconds < 1, `waitSeconds ${turn.waitSeconds}`);
});

test('a failed call does not fail the calls queued behind it', async () => {
  const engine = new NullEngine();
  const start = performance.now();
  const failing = takeEngineTurn(engine, start, async () => {
    throw new Error('boom');
  });
  const next = takeEngineTurn(engine, start, async () => 'ok');
  await assert.rejects(failing, /boom/);
  assert.equal((await next).value, 'ok');
});
