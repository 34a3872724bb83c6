// Structural checks of docker-compose.yml, infra/Dockerfile, infra/Dockerfile.gpu and .dockerignore.
// No Docker engine runs here, so these read the files instead of starting them: they pin the
// deployment requirements of issue 3 (services, Redis durability, GPU base, scalable workers).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { parse } from 'yaml';

interface ComposeService {
  image?: string;
  build?: { context?: string; dockerfile?: string };
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string | null>;
  profiles?: string[];
  ports?: unknown[];
  container_name?: string;
  volumes?: string[];
  healthcheck?: { test?: string[] };
  depends_on?: Record<string, { condition?: string }>;
  deploy?: {
    resources?: {
      reservations?: { devices?: { driver?: string; count?: number | string; capabilities?: string[] }[] };
    };
  };
}

const repoFile = (path: string): string => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

// merge: Compose honours YAML merge keys (<<), which the file uses for the shared environment.
const compose = parse(repoFile('docker-compose.yml'), { merge: true }) as { services: Record<string, ComposeService> };

function service(name: string): ComposeService {
  const found = compose.services[name];
  assert.ok(found, `docker-compose.yml has no service '${name}'`);
  return found;
}

/** The command as one string, whether written as a list or a string. */
function commandLine(value: string | string[] | undefined): string {
  return Array.isArray(value) ? value.join(' ') : (value ?? '');
}

/** Images named in FROM lines, without the ones that refer to an earlier stage. */
function baseImages(dockerfile: string): string[] {
  const stages = new Set<string>();
  const images: string[] = [];
  for (const line of dockerfile.split('\n')) {
    const match = /^FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?/i.exec(line.trim());
    if (!match?.[1]) continue;
    if (!stages.has(match[1])) images.push(match[1]);
    if (match[2]) stages.add(match[2]);
  }
  return images;
}

/** The text after the last FROM line: the stage that becomes the image. */
function finalStage(dockerfile: string): string {
  return dockerfile.split(/^(?=FROM\s)/m).at(-1) ?? '';
}

const workers = ['worker', 'worker-cpu'];
const pipelineServices = ['producer', ...workers];

describe('docker-compose.yml', () => {
  test('defines redis, minio, the bucket step, the producer and both workers', () => {
    for (const name of ['redis', 'minio', 'minio-init', 'producer', 'worker', 'worker-cpu']) service(name);
  });

  test('runs redis 7 with AOF on and the noeviction policy', () => {
    const redis = service('redis');
    assert.match(redis.image ?? '', /^redis:7/);
    const args = commandLine(redis.command);
    assert.match(args, /--appendonly yes/);
    assert.match(args, /--maxmemory-policy noeviction/);
  });

  test('keeps redis data on a volume and checks redis health', () => {
    const redis = service('redis');
    assert.ok(
      redis.volumes?.some((volume) => volume.endsWith(':/data')),
      'redis mounts a volume on /data',
    );
    assert.ok(redis.healthcheck?.test?.length, 'redis has a healthcheck');
  });

  test('creates the buckets with mc alias set and mc mb --ignore-existing once minio is healthy', () => {
    assert.ok(service('minio').healthcheck?.test?.length, 'minio has a healthcheck');
    const init = service('minio-init');
    assert.match(init.image ?? '', /^minio\/mc/);
    assert.equal(init.depends_on?.minio?.condition, 'service_healthy');
    const script = commandLine(init.command);
    assert.match(script, /mc alias set \S+ http:\/\/minio:9000/);
    assert.match(script, /mc mb --ignore-existing/);
  });

  test('starts the producer only on demand, with a submit example as its command', () => {
    const producer = service('producer');
    assert.ok(producer.profiles?.length, 'producer is behind a profile, so `docker compose up` skips it');
    assert.match(commandLine(producer.command), /^submit s3:\/\/\S+ --output s3:\/\/\S+/);
  });

  test('builds the GPU worker from infra/Dockerfile.gpu and reserves an nvidia GPU', () => {
    const worker = service('worker');
    assert.equal(worker.build?.dockerfile, 'infra/Dockerfile.gpu');
    const devices = worker.deploy?.resources?.reservations?.devices ?? [];
    assert.ok(
      devices.some((device) => device.driver === 'nvidia' && device.capabilities?.includes('gpu')),
      `worker reserves driver nvidia with capabilities [gpu]; got ${JSON.stringify(devices)}`,
    );
  });

  test('runs the GPU worker on tfjs-node-gpu and the CPU worker on auto', () => {
    assert.equal(service('worker').environment?.ENGINE, 'tfjs-node-gpu');
    assert.equal(service('worker-cpu').environment?.ENGINE, 'auto');
    for (const name of workers) assert.match(commandLine(service(name).command), /^worker\b/);
  });

  test('builds the CPU worker and the producer from infra/Dockerfile', () => {
    for (const name of ['worker-cpu', 'producer'])
      assert.equal(service(name).build?.dockerfile, 'infra/Dockerfile', name);
  });

  test('leaves the workers scalable: no container_name and no published ports', () => {
    for (const name of workers) {
      assert.equal(service(name).container_name, undefined, `${name} has no container_name`);
      assert.equal(service(name).ports, undefined, `${name} publishes no ports`);
    }
  });

  test('points the producer and the workers at the compose redis and minio with path-style addressing', () => {
    for (const name of pipelineServices) {
      const env = service(name).environment ?? {};
      assert.equal(env.REDIS_URL, 'redis://redis:6379', name);
      assert.equal(env.S3_ENDPOINT, 'http://minio:9000', name);
      assert.equal(env.S3_FORCE_PATH_STYLE, 'true', name);
      assert.ok(env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY, `${name} has S3 credentials`);
    }
  });

  test('starts the producer and the workers after redis is healthy and the buckets exist', () => {
    for (const name of pipelineServices) {
      const dependsOn = service(name).depends_on ?? {};
      assert.equal(dependsOn.redis?.condition, 'service_healthy', name);
      assert.equal(dependsOn['minio-init']?.condition, 'service_completed_successfully', name);
    }
  });
});

describe('Dockerfiles', () => {
  const gpu = repoFile('infra/Dockerfile.gpu');
  const cpu = repoFile('infra/Dockerfile');

  test('bases the GPU image on CUDA 11.2 with cuDNN 8, as tfjs-node-gpu 4.x requires', () => {
    const images = baseImages(gpu);
    assert.ok(images.length > 0, 'infra/Dockerfile.gpu has a FROM line');
    for (const image of images) assert.match(image, /^nvidia\/cuda:11\.2(\.\d+)*-cudnn8-runtime-ubuntu/);
  });

  test('bases the CPU image on node 20 bookworm-slim', () => {
    assert.deepEqual([...new Set(baseImages(cpu))], ['node:20-bookworm-slim']);
  });

  test('installs tfjs-node-gpu in the GPU image and tfjs-node in the CPU image', () => {
    assert.match(gpu, /npm rebuild @tensorflow\/tfjs-node-gpu\b/);
    assert.match(cpu, /npm rebuild @tensorflow\/tfjs-node(?!-)/);
  });

  test('fetches the model at build time into the cache the final stage points at', () => {
    for (const dockerfile of [cpu, gpu]) {
      assert.match(dockerfile, /^RUN npm run fetch-model/m);
      assert.match(finalStage(dockerfile), /RESNET_BATCH_CACHE=\/opt\/resnet-batch\/cache/);
      assert.match(finalStage(dockerfile), /COPY --from=build \/opt\/resnet-batch \/opt\/resnet-batch/);
    }
  });

  test('keeps node_modules, .git, local caches and result artifacts out of the build context', () => {
    const ignored = repoFile('.dockerignore')
      .split('\n')
      .map((line) => line.trim());
    for (const entry of ['node_modules', '.git', '.cache', '*.npy', '*.parquet', '*.onnx'])
      assert.ok(ignored.includes(entry), `.dockerignore lists ${entry}`);
  });
});
