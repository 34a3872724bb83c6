// infra/k8s, validated without a cluster: every document of every file against the Kubernetes API
// schemas (kubernetes-models, generated from the Kubernetes 1.34 OpenAPI) and KEDA's CRD schemas
// (@kubernetes-models/keda, generated from KEDA's CRDs), then the deployment facts of issue 14:
// probes on the worker's health endpoints, KEDA on the real BullMQ wait and active lists, the CPU
// request from the measured CPU per image, non-root with a writable runtime cache, Redis durable.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { CronJob } from 'kubernetes-models/batch/v1/CronJob';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { configFromEnv, SHARD_QUEUE_NAME } from '../../shared/config.ts';
import { useRedis } from '../harness/redis-server.ts';
import { DOCKERFILES, finalStage, k8sFiles, type Manifest, manifestsOf, repoFile } from './infra-files.ts';

/** The schema-validating model of each apiVersion/kind the files use; validate() throws on a violation. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/Service': Service,
  'v1/Secret': Secret,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'batch/v1/Job': Job,
  'batch/v1/CronJob': CronJob,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
  'keda.sh/v1alpha1/TriggerAuthentication': TriggerAuthentication,
};

const kustomization = manifestsOf('kustomization.yaml')[0] as unknown as { namespace: string; resources: string[] };
const deployed = kustomization.resources.flatMap(manifestsOf);
const everyFile = k8sFiles().filter((file) => file !== 'kustomization.yaml');

function find(kind: string, name: string, from: Manifest[] = deployed): Manifest {
  const found = from.find((manifest) => manifest.kind === kind && manifest.metadata.name === name);
  assert.ok(found, `no ${kind} '${name}'`);
  return found;
}

const worker = find('Deployment', 'resnet-batch-worker');
const pod = worker.spec.template.spec;
const container = pod.containers[0];
const env = (name: string): { value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } } =>
  container.env.find((entry: { name: string }) => entry.name === name);
const scaled = find('ScaledObject', 'resnet-batch-worker');

describe('kubernetes manifests: schemas', () => {
  for (const file of everyFile) {
    test(`${file} is valid against the Kubernetes and KEDA schemas`, () => {
      for (const manifest of manifestsOf(file)) {
        const Model = MODELS[`${manifest.apiVersion}/${manifest.kind}`];
        assert.ok(Model, `${file}: no schema known for ${manifest.apiVersion} ${manifest.kind}`);
        assert.doesNotThrow(() => new Model(manifest as never).validate(), `${file} ${manifest.kind}`);
      }
    });
  }

  test('the validation rejects what the API server would (a wrong type, a bad quantity)', () => {
    const broken = structuredClone(worker);
    broken.spec.template.spec.containers[0].resources.requests.cpu = 'six';
    assert.throws(() => new Deployment(broken as never).validate(), /quantity/);
    const badScaled = structuredClone(scaled);
    badScaled.spec.cooldownPeriod = 'ten minutes';
    assert.throws(() => new ScaledObject(badScaled as never).validate(), /cooldownPeriod/);
  });

  test('kustomization.yaml deploys every non-example file and no example', () => {
    assert.deepEqual(
      [...kustomization.resources].sort(),
      everyFile.filter((file) => !file.endsWith('.example.yaml')).sort(),
    );
  });
});

describe('kubernetes manifests: the GPU worker', () => {
  test('runs the onnx-cuda image with one GPU, as the user the image runs as', () => {
    assert.deepEqual(container.args, ['worker']);
    assert.equal(container.image, 'resnet-batch:onnx-cuda');
    assert.equal(env('ENGINE')?.value, 'onnx-cuda');
    assert.equal(container.resources.limits['nvidia.com/gpu'], 1);
    assert.match(
      finalStage(repoFile('infra/Dockerfile.onnx-cuda')),
      new RegExp(`^USER ${pod.securityContext.runAsUser}:`, 'm'),
    );
  });

  test('probes: liveness on /healthz and readiness on /readyz, on the metrics port', () => {
    const port = container.ports.find((entry: { name: string }) => entry.name === container.livenessProbe.httpGet.port);
    assert.equal(String(port?.containerPort), env('METRICS_PORT')?.value);
    assert.equal(container.livenessProbe.httpGet.path, '/healthz');
    assert.equal(container.readinessProbe.httpGet.path, '/readyz');
    assert.equal(container.readinessProbe.httpGet.port, container.livenessProbe.httpGet.port);
    // A Redis restart must not restart every worker: at least a minute of failures first.
    assert.ok(container.livenessProbe.periodSeconds * container.livenessProbe.failureThreshold >= 60);
  });

  test('a read-only root filesystem, with the runtime cache of the image on a volume', () => {
    assert.equal(container.securityContext.readOnlyRootFilesystem, true);
    const runtimeCache = /RESNET_BATCH_RUNTIME_CACHE=(\S+)/.exec(
      finalStage(repoFile('infra/Dockerfile.onnx-cuda')),
    )?.[1];
    assert.ok(container.volumeMounts.some((mount: { mountPath: string }) => mount.mountPath === runtimeCache));
  });

  test('the CPU request feeds the target throughput at the measured CPU per image, with headroom', () => {
    const target = Number(worker.metadata.annotations?.['resnet-batch/target-images-per-second']);
    const cpuPerImage = Number(worker.metadata.annotations?.['resnet-batch/cpu-seconds-per-image']);
    // The measurement: the worker's CPU per image with everything but the model (null engine).
    const bench = JSON.parse(repoFile('bench/results.json')) as {
      measures: { endToEnd: { null: { images: number; workerCpuSeconds: number[] } } };
    };
    const measured = bench.measures.endToEnd.null;
    const measuredPerImage = (measured.workerCpuSeconds[0] ?? Number.NaN) / measured.images;
    assert.ok(cpuPerImage >= measuredPerImage, `${cpuPerImage} s/image covers the measured ${measuredPerImage}`);
    assert.ok(Number(container.resources.requests.cpu) >= target * cpuPerImage * 1.5);
    assert.equal(container.resources.limits.cpu, undefined, 'no CPU limit to throttle the decoders');
  });

  test('REDIS_URL comes from a Secret, and the example Secret provides that key', () => {
    const ref = env('REDIS_URL')?.valueFrom?.secretKeyRef;
    assert.ok(ref);
    const secret = find('Secret', ref.name, manifestsOf('secret.example.yaml')) as unknown as {
      stringData: Record<string, string>;
    };
    assert.ok(secret.stringData[ref.key]?.startsWith('redis://'));
  });

  test('the pod carries Prometheus scrape annotations for the metrics port', () => {
    const annotations = worker.spec.template.metadata.annotations;
    assert.deepEqual(
      [annotations['prometheus.io/scrape'], annotations['prometheus.io/port'], annotations['prometheus.io/path']],
      ['true', env('METRICS_PORT')?.value, '/metrics'],
    );
    assert.equal(configFromEnv({ METRICS_PORT: env('METRICS_PORT')?.value }).METRICS_PORT, 9464);
  });

  test('the grace period covers the shards a stopping worker finishes, and outlasts the shard lock', () => {
    assert.ok(pod.terminationGracePeriodSeconds >= 300);
    assert.ok(pod.terminationGracePeriodSeconds * 1000 > configFromEnv({}).SHARD_LOCK_MS);
  });
});

describe('kubernetes manifests: KEDA', () => {
  const redis = useRedis();

  const trigger = (name: string) => scaled.spec.triggers.find((entry: { name: string }) => entry.name === name);

  test("the triggers read BullMQ's real wait and active lists for the default prefix", async () => {
    const prefix = configFromEnv({}).QUEUE_PREFIX;
    const connection = { url: redis.url };
    const queue = new Queue(SHARD_QUEUE_NAME, { connection, prefix });
    const consumer = new Worker(SHARD_QUEUE_NAME, null, { connection, prefix });
    const client = new Redis(redis.url);
    try {
      await queue.add('shard', { n: 1 }, { jobId: 'waiting-one' });
      await queue.add('shard', { n: 2 }, { jobId: 'active-one' });
      assert.equal(await client.llen(trigger('waiting').metadata.listName), 2);
      assert.equal(await client.llen(trigger('active').metadata.listName), 0);
      await consumer.getNextJob('test-token'); // moves one job to active, as a worker does
      assert.equal(await client.llen(trigger('waiting').metadata.listName), 1);
      assert.equal(await client.llen(trigger('active').metadata.listName), 1);
    } finally {
      await consumer.close(true);
      await queue.obliterate({ force: true });
      await queue.close();
      client.disconnect();
    }
  });

  test('the formula adds waiting and active shards, one replica per SHARDS_IN_FLIGHT of them', () => {
    const modifiers = scaled.spec.advanced.scalingModifiers;
    assert.equal(modifiers.formula, 'waiting + active');
    assert.equal(Number(modifiers.target), Number(env('SHARDS_IN_FLIGHT')?.value));
    for (const name of ['waiting', 'active']) assert.equal(trigger(name).type, 'redis');
  });

  test('scale-in waits out a cool-down at least as long as a stopping worker may take', () => {
    const scaleDown = scaled.spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown;
    assert.ok(scaleDown.stabilizationWindowSeconds >= pod.terminationGracePeriodSeconds);
    assert.ok(scaled.spec.minReplicaCount >= 1, 'a worker stays to move delayed retries back to wait');
    assert.ok(scaled.spec.maxReplicaCount > scaled.spec.minReplicaCount);
    assert.equal(scaled.spec.scaleTargetRef.name, worker.metadata.name);
  });

  test('the triggers reach the Redis Service in the kustomization namespace, with the Redis password', () => {
    const service = find('Service', 'redis');
    for (const name of ['waiting', 'active']) {
      assert.equal(
        trigger(name).metadata.address,
        `redis.${kustomization.namespace}.svc.cluster.local:${service.spec.ports[0].port}`,
      );
      const auth = find('TriggerAuthentication', trigger(name).authenticationRef.name);
      assert.deepEqual(auth.spec.secretTargetRef[0], {
        parameter: 'password',
        name: 'resnet-batch-redis',
        key: 'password',
      });
    }
  });

  test('the Prometheus variant queries the queue-depth gauge the workers export, largest report of waiting + active', () => {
    const example = find('ScaledObject', 'resnet-batch-worker', manifestsOf('keda-prometheus.example.yaml'));
    const [prometheus] = example.spec.triggers;
    assert.equal(prometheus.type, 'prometheus');
    assert.match(
      prometheus.metadata.query,
      /^max\(sum by \(instance\) \(resnet_batch_queue_jobs\{state=~"waiting\|active"\}\)\)$/,
    );
    assert.equal(prometheus.metadata.threshold, scaled.spec.advanced.scalingModifiers.target);
  });
});

describe('kubernetes manifests: producer examples and Redis', () => {
  test('the producer Job and CronJob submit a run with the CPU image, as the image user, with /tmp writable', () => {
    const job = find('Job', 'resnet-batch-submit-photos', manifestsOf('producer-job.example.yaml'));
    const cron = find('CronJob', 'resnet-batch-nightly-photos', manifestsOf('producer-cronjob.example.yaml'));
    for (const spec of [job.spec.template.spec, cron.spec.jobTemplate.spec.template.spec]) {
      const [submit] = spec.containers;
      assert.equal(submit.image, 'resnet-batch:cpu');
      assert.match(
        [...(submit.command ?? []), ...submit.args].join(' '),
        /\bsubmit s3:\/\/\S+ --output s3:\/\/\S+ --run /,
      );
      assert.equal(spec.securityContext.runAsUser, 10001);
      assert.ok(submit.volumeMounts.some((mount: { mountPath: string }) => mount.mountPath === '/tmp'));
    }
    assert.equal(cron.spec.concurrencyPolicy, 'Forbid');
    assert.match(finalStage(repoFile(DOCKERFILES[0] ?? '')), /^USER 10001:/m);
  });

  test('Redis persists with an append-only file on a volume claim and never evicts keys', () => {
    const statefulSet = find('StatefulSet', 'redis');
    const redisContainer = statefulSet.spec.template.spec.containers[0];
    const line = (redisContainer.args as string[]).join(' ');
    assert.match(line, /--appendonly yes/);
    assert.match(line, /--maxmemory-policy noeviction/);
    assert.match(line, /--requirepass \$\(REDIS_PASSWORD\)/);
    const claim = statefulSet.spec.volumeClaimTemplates[0];
    assert.ok(
      redisContainer.volumeMounts.some(
        (mount: { name: string; mountPath: string }) =>
          mount.name === claim.metadata.name && mount.mountPath === '/data',
      ),
    );
    const service = find('Service', 'redis');
    for (const [key, value] of Object.entries(service.spec.selector as Record<string, string>))
      assert.equal(statefulSet.spec.template.metadata.labels[key], value);
  });
});
