// Structural checks of infra/k8s: no cluster runs here, so these parse the manifests and pin the
// deployment facts of issue 6 (GPU request, KEDA on the real BullMQ wait list, durable Redis,
// metrics scraping, graceful shutdown). The wait-list key is taken from a real BullMQ queue.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { parseAllDocuments } from 'yaml';
import { configFromEnv, SHARD_QUEUE_NAME } from '../../shared/config.ts';
import { startRedis, type TestRedis } from '../harness/redis-server.ts';

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; annotations?: Record<string, string> };
  // biome-ignore lint/suspicious/noExplicitAny: manifests are free-form YAML; the assertions check the shape.
  spec: Record<string, any>;
}

const k8sFile = (name: string): string => readFileSync(new URL(`../../infra/k8s/${name}`, import.meta.url), 'utf8');
const manifestsOf = (name: string): Manifest[] =>
  parseAllDocuments(k8sFile(name)).map((document) => document.toJSON() as Manifest);

const kustomization = manifestsOf('kustomization.yaml')[0] as unknown as { namespace: string; resources: string[] };
const deployed = kustomization.resources.flatMap(manifestsOf);

function find(kind: string, name: string): Manifest {
  const found = deployed.find((manifest) => manifest.kind === kind && manifest.metadata.name === name);
  assert.ok(found, `kustomization.yaml deploys no ${kind} '${name}'`);
  return found;
}

function args(container: { args?: string[] }): string {
  return (container.args ?? []).join(' ');
}

const worker = find('Deployment', 'resnet-batch-worker');
const workerContainer = worker.spec.template.spec.containers[0];
const env = (
  name: string,
): { value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } } | undefined =>
  workerContainer.env.find((entry: { name: string }) => entry.name === name);

describe('kubernetes manifests', () => {
  let redis: TestRedis;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis?.stop();
  });

  test('every resource listed in kustomization.yaml parses and has a kind and a name', () => {
    assert.ok(deployed.length >= 6);
    for (const manifest of deployed)
      assert.ok(manifest.kind && manifest.metadata?.name, JSON.stringify(manifest).slice(0, 80));
  });

  test('the worker Deployment runs the worker command and requests one GPU', () => {
    assert.deepEqual(workerContainer.args, ['worker']);
    assert.equal(workerContainer.resources.limits['nvidia.com/gpu'], 1);
    assert.equal(env('ENGINE')?.value, 'tfjs-node-gpu');
  });

  test('the worker image is the GPU image of infra/Dockerfile.gpu, whose entrypoint is the CLI', () => {
    assert.match(workerContainer.image, /^resnet-batch:gpu$/);
    const dockerfile = readFileSync(new URL('../../infra/Dockerfile.gpu', import.meta.url), 'utf8');
    assert.match(dockerfile, /ENTRYPOINT \["node", "bin\/resnet-batch\.js"\]/);
  });

  test('REDIS_URL comes from a Secret, and the example Secret provides that key', () => {
    const ref = env('REDIS_URL')?.valueFrom?.secretKeyRef;
    assert.ok(ref, 'REDIS_URL is read from a secretKeyRef');
    const secret = manifestsOf('secret.example.yaml').find(
      (manifest) => manifest.kind === 'Secret' && manifest.metadata.name === ref.name,
    ) as unknown as { stringData: Record<string, string> };
    assert.ok(secret?.stringData[ref.key]?.startsWith('redis://'));
    assert.ok(!kustomization.resources.includes('secret.example.yaml'), 'the example Secret is not deployed');
  });

  test('the worker exposes METRICS_PORT and the pod carries matching Prometheus scrape annotations', () => {
    const port = env('METRICS_PORT')?.value;
    assert.equal(port, '9464');
    assert.equal(configFromEnv({ METRICS_PORT: port }).METRICS_PORT, 9464);
    const annotations = worker.spec.template.metadata.annotations;
    assert.deepEqual(
      [annotations['prometheus.io/scrape'], annotations['prometheus.io/port'], annotations['prometheus.io/path']],
      ['true', port, '/metrics'],
    );
    assert.ok(workerContainer.ports.some((entry: { containerPort: number }) => String(entry.containerPort) === port));
  });

  test('the grace period outlasts the shard lock, so a stopping worker finishes its shard', () => {
    const grace = worker.spec.template.spec.terminationGracePeriodSeconds as number;
    assert.ok(grace >= 300, `terminationGracePeriodSeconds ${grace}`);
    assert.ok(grace * 1000 > configFromEnv({}).SHARD_LOCK_MS);
  });

  test('the KEDA trigger listName is the key where BullMQ keeps waiting shards for the default prefix', async () => {
    const prefix = configFromEnv({}).QUEUE_PREFIX;
    const queue = new Queue(SHARD_QUEUE_NAME, { connection: { url: redis.url }, prefix });
    const client = new Redis(redis.url);
    try {
      await queue.add('shard', { n: 1 });
      const waitKeys: string[] = [];
      for (const key of await client.keys(`${prefix}:${SHARD_QUEUE_NAME}:*`)) {
        if ((await client.type(key)) === 'list' && (await client.lrange(key, 0, -1)).includes('1')) waitKeys.push(key);
      }
      assert.equal(waitKeys.length, 1, `one list holds the waiting job id: ${waitKeys.join(', ')}`);

      const scaled = find('ScaledObject', 'resnet-batch-worker');
      assert.equal(scaled.spec.scaleTargetRef.name, worker.metadata.name);
      const trigger = scaled.spec.triggers.find((entry: { type: string }) => entry.type === 'redis');
      assert.equal(trigger.metadata.listName, waitKeys[0]);
      assert.equal(await client.llen(trigger.metadata.listName), 1);
      assert.ok(Number(trigger.metadata.listLength) >= 1);
      assert.ok(scaled.spec.maxReplicaCount > scaled.spec.minReplicaCount);
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
      client.disconnect();
    }
  });

  test('the KEDA trigger reaches the Redis Service in the kustomization namespace, with the Redis password', () => {
    const scaled = find('ScaledObject', 'resnet-batch-worker');
    const trigger = scaled.spec.triggers[0];
    const service = find('Service', 'redis');
    assert.equal(
      trigger.metadata.address,
      `redis.${kustomization.namespace}.svc.cluster.local:${service.spec.ports[0].port}`,
    );
    const auth = find('TriggerAuthentication', trigger.authenticationRef.name);
    assert.deepEqual(auth.spec.secretTargetRef[0], {
      parameter: 'password',
      name: 'resnet-batch-redis',
      key: 'password',
    });
  });

  test('Redis persists with an append-only file on a volume claim and never evicts keys', () => {
    const statefulSet = find('StatefulSet', 'redis');
    const container = statefulSet.spec.template.spec.containers[0];
    const line = args(container);
    assert.match(line, /--appendonly yes/);
    assert.match(line, /--maxmemory-policy noeviction/);
    assert.match(line, /--dir \/data/);
    assert.match(line, /--requirepass \$\(REDIS_PASSWORD\)/);
    const claim = statefulSet.spec.volumeClaimTemplates[0];
    assert.ok(
      container.volumeMounts.some(
        (mount: { name: string; mountPath: string }) =>
          mount.name === claim.metadata.name && mount.mountPath === '/data',
      ),
    );
    assert.match(claim.spec.resources.requests.storage, /^\d+Gi$/);
  });

  test('the Redis Service selects the Redis pods', () => {
    const service = find('Service', 'redis');
    const statefulSet = find('StatefulSet', 'redis');
    for (const [key, value] of Object.entries(service.spec.selector as Record<string, string>)) {
      assert.equal(statefulSet.spec.template.metadata.labels[key], value);
    }
  });
});
