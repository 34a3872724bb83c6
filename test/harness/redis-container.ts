import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RedisOptions, redisSettings, type TestRedis } from './redis-server.ts';

/**
 * The testcontainers path of startRedis. UNTESTED on the machine this was written on (it has a
 * Docker client but no engine), so it is kept to the documented testcontainers API only.
 *
 * kill(SIGKILL|SIGTERM) stops the container without removing it (SIGKILL: timeout 0), so
 * restart() brings back the same container and its /data (the AOF). Docker may publish a new
 * host port on restart; testcontainers re-reads the mapping, hence `url`/`port` are getters.
 * SIGSTOP/SIGCONT are not supported here (they would need `docker pause`).
 */
export async function startRedisContainer(options: RedisOptions): Promise<TestRedis> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const command = ['redis-server', ...redisSettings(options)];
  const container = await new GenericContainer('redis:8.2.10')
    .withCommand(command)
    .withExposedPorts(6379)
    .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))
    .start();
  const dir = await mkdtemp(join(tmpdir(), 'resnet-batch-redis-'));
  const auth = options.password === undefined ? '' : `:${encodeURIComponent(options.password)}@`;
  let stopped = false;
  return {
    get url() {
      return `redis://${auth}${container.getHost()}:${container.getMappedPort(6379)}`;
    },
    get port() {
      return container.getMappedPort(6379);
    },
    dir,
    async stop() {
      if (stopped) return;
      stopped = true;
      await container.stop();
      await rm(dir, { recursive: true, force: true });
    },
    async kill(signal = 'SIGKILL') {
      if (signal !== 'SIGKILL' && signal !== 'SIGTERM')
        throw new Error(`kill('${signal}') is not supported with containers; use SIGKILL or SIGTERM`);
      await container.stop({ remove: false, timeout: signal === 'SIGKILL' ? 0 : 10_000 });
    },
    async restart() {
      await container.restart();
    },
  };
}
