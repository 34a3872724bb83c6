// Structural checks of docker-compose.yml and what it mounts (infra/prometheus, infra/grafana).
// No Docker engine runs here, so these read the files instead of starting them: they pin what
// issue 14 asks of the compose deployment. test/infra/compose-config.test.ts has Compose itself
// validate the file; test/infra/image-pins.test.ts checks the image references.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { configFromEnv } from '../../shared/config.ts';
import { type ComposeService, commandLine, compose, repoFile } from './infra-files.ts';

function service(name: string): ComposeService {
  const found = compose.services[name];
  assert.ok(found, `docker-compose.yml has no service '${name}'`);
  return found;
}

const byDefault = ['redis', 's3', 's3-init', 'worker', 'dashboard'];
const workers = ['worker', 'worker-gpu', 'worker-tfjs-gpu'];
const pipelineServices = ['producer', ...workers];
const dependsOn = (name: string) => service(name).depends_on as Record<string, { condition?: string }>;

describe('docker-compose.yml', () => {
  test('`docker compose up` starts redis, the S3 server, the bucket set-up, one CPU worker and the dashboard', () => {
    const started = Object.entries(compose.services)
      .filter(([, definition]) => !definition.profiles?.length)
      .map(([name]) => name);
    assert.deepEqual(started.sort(), [...byDefault].sort());
  });

  test('the profiles add the GPU workers, monitoring and the on-demand producer', () => {
    assert.deepEqual(service('worker-gpu').profiles, ['gpu']);
    assert.deepEqual(service('worker-tfjs-gpu').profiles, ['tfjs-gpu']);
    assert.deepEqual(service('prometheus').profiles, ['monitoring']);
    assert.deepEqual(service('grafana').profiles, ['monitoring']);
    assert.deepEqual(service('producer').profiles, ['producer']);
  });

  test('runs redis with AOF on, the noeviction policy, a data volume and a healthcheck', () => {
    const redis = service('redis');
    const args = commandLine(redis.command);
    assert.match(args, /--appendonly yes/);
    assert.match(args, /--maxmemory-policy noeviction/);
    assert.ok(redis.volumes?.some((volume) => volume.endsWith(':/data')));
    assert.ok(redis.healthcheck?.test?.length);
  });

  test('the S3 server is SeaweedFS, started with the credentials the pipeline uses, with a healthcheck', () => {
    const s3 = service('s3');
    assert.match(s3.image ?? '', /^chrislusf\/seaweedfs:/);
    assert.match(commandLine(s3.command), /^mini -dir=\/data\b/);
    assert.match(commandLine(s3.healthcheck?.test), /http:\/\/127\.0\.0\.1:8333\/healthz/);
    const env = service('worker').environment ?? {};
    assert.equal(s3.environment?.AWS_ACCESS_KEY_ID, env.AWS_ACCESS_KEY_ID);
    assert.equal(s3.environment?.AWS_SECRET_ACCESS_KEY, env.AWS_SECRET_ACCESS_KEY);
  });

  test('the bucket set-up runs infra/create-buckets.ts with the pipeline settings once the S3 server is healthy', () => {
    const init = service('s3-init');
    assert.match(commandLine(init.entrypoint), /infra\/create-buckets\.ts$/);
    assert.deepEqual(init.command, ['images', 'results']);
    assert.equal(dependsOn('s3-init').s3?.condition, 'service_healthy');
    assert.deepEqual(init.environment, service('producer').environment);
  });

  test('each worker runs its engine from its Dockerfile, and the GPU workers reserve an nvidia GPU', () => {
    const expected: Record<string, [string, string]> = {
      worker: ['infra/Dockerfile', 'auto'],
      'worker-gpu': ['infra/Dockerfile.onnx-cuda', 'onnx-cuda'],
      'worker-tfjs-gpu': ['infra/Dockerfile.tfjs-node-gpu', 'tfjs-node-gpu'],
    };
    for (const [name, [dockerfile, engine]] of Object.entries(expected)) {
      const worker = service(name);
      assert.equal(worker.build?.dockerfile, dockerfile, name);
      assert.equal(worker.environment?.ENGINE, engine, name);
      assert.match(commandLine(worker.command), /^worker$/, name);
      const devices = worker.deploy?.resources?.reservations?.devices ?? [];
      const gpu = devices.some((device) => device.driver === 'nvidia' && device.capabilities?.includes('gpu'));
      assert.equal(gpu, name !== 'worker', `${name} reserves a GPU: ${JSON.stringify(devices)}`);
    }
  });

  test('workers are healthy once /readyz answers, keep the runtime cache on a volume and get time to finish a shard', () => {
    for (const name of workers) {
      const worker = service(name);
      assert.deepEqual(worker.healthcheck?.test, ['CMD', 'node', 'infra/http-probe.js', '/readyz'], name);
      assert.ok(worker.volumes?.includes('runtime-cache:/var/cache/resnet-batch'), name);
      assert.match(worker.stop_grace_period ?? '', /^\d+m$/, `${name} waits minutes for its shard`);
      // tini is PID 1 in the images; Compose's init would put a second init in front of it.
      assert.equal(worker.init, undefined, name);
    }
  });

  test('leaves the workers scalable: no container_name and no published ports', () => {
    for (const name of workers) {
      assert.equal(service(name).container_name, undefined, name);
      assert.equal(service(name).ports, undefined, name);
    }
  });

  test('points the producer and the workers at the compose redis and S3 server with path-style addressing', () => {
    for (const name of pipelineServices) {
      const env = service(name).environment ?? {};
      assert.equal(env.REDIS_URL, 'redis://redis:6379', name);
      assert.equal(env.S3_ENDPOINT, 'http://s3:8333', name);
      assert.equal(env.S3_FORCE_PATH_STYLE, 'true', name);
      assert.ok(env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY, `${name} has S3 credentials`);
    }
  });

  test('starts the producer and the workers after redis is healthy and the buckets exist', () => {
    for (const name of pipelineServices) {
      assert.equal(dependsOn(name).redis?.condition, 'service_healthy', name);
      assert.equal(dependsOn(name)['s3-init']?.condition, 'service_completed_successfully', name);
    }
  });

  test('the dashboard listens in its container with a password that must come from the environment', () => {
    const dashboard = service('dashboard');
    assert.match(commandLine(dashboard.command), /^dashboard --host 0\.0\.0\.0 --port 3000$/);
    assert.match(dashboard.environment?.DASHBOARD_PASSWORD ?? '', /^\$\{DASHBOARD_PASSWORD:\?[^}]+\}$/);
    assert.ok(dashboard.environment?.DASHBOARD_USER);
  });

  test('every published port is bound to the loopback address', () => {
    for (const [name, definition] of Object.entries(compose.services))
      for (const port of definition.ports ?? []) assert.match(port, /^127\.0\.0\.1:/, `${name} publishes ${port}`);
  });
});

describe('monitoring files of docker-compose.yml', () => {
  const prometheus = parse(repoFile('infra/prometheus/prometheus.yml')) as {
    scrape_configs: { dns_sd_configs: { names: string[]; port: number }[] }[];
  };

  test('Prometheus scrapes every worker service on the metrics port the workers listen on', () => {
    const discovery = prometheus.scrape_configs.flatMap((config) => config.dns_sd_configs ?? []);
    assert.deepEqual(discovery.flatMap((entry) => entry.names).sort(), [...workers].sort());
    for (const entry of discovery) assert.equal(entry.port, configFromEnv({}).METRICS_PORT);
  });

  test('Grafana gets the provisioning folder and the dashboards folder the provider reads', () => {
    const grafana = service('grafana');
    const provider = parse(repoFile('infra/grafana/provisioning/dashboards/resnet-batch.yml')) as {
      providers: { options: { path: string } }[];
    };
    assert.ok(grafana.volumes?.includes('./infra/grafana/provisioning:/etc/grafana/provisioning:ro'));
    assert.ok(grafana.volumes?.includes(`./infra/grafana/dashboards:${provider.providers[0]?.options.path}:ro`));
    const prometheusConfig = `./infra/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro`;
    assert.ok(service('prometheus').volumes?.includes(prometheusConfig));
  });
});
