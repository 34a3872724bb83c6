// The embedded redis-server of `resnet-batch run` (ops/embedded-redis.ts) does not outlive the
// process that started it, even one killed by SIGKILL, through either lifeline: the kernel's
// parent-death signal (setpriv, Linux) and the portable sh guardian.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, describe, test } from 'node:test';
import { descendantsOf, survivorsAfter } from '../harness/process-tree.ts';

const embeddedRedis = new URL('../../ops/embedded-redis.ts', import.meta.url).href;
const holders: ChildProcess[] = [];
after(() => {
  for (const holder of holders) holder.kill('SIGKILL');
});

/** A Node process that starts an embedded Redis with `lifeline`, prints its URL and waits. */
async function holderOf(lifeline: string): Promise<{ holder: ChildProcess; url: string }> {
  const script = `
    const { startEmbeddedRedis } = await import(${JSON.stringify(embeddedRedis)});
    const redis = await startEmbeddedRedis(${JSON.stringify(lifeline)});
    console.log(redis.url);
    setInterval(() => undefined, 60_000);
  `;
  const holder = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  holders.push(holder);
  const [line] = (await once(holder.stdout!, 'data')) as [Buffer];
  return { holder, url: line.toString().trim() };
}

describe('the embedded redis-server', () => {
  for (const lifeline of ['pdeathsig', 'guardian']) {
    test(`exits when the process that started it is killed by SIGKILL (${lifeline})`, async () => {
      const { holder, url } = await holderOf(lifeline);
      const port = new URL(url).port;
      const server = descendantsOf(holder.pid!).filter((info) => info.command.includes(`:${port}`));
      assert.equal(server.length, 1, `one redis-server on port ${port} under the holder`);
      holder.kill('SIGKILL');
      assert.deepEqual(await survivorsAfter(server, 20_000), []);
    });
  }
});
