import { createBucketAt, type TestS3 } from './s3-server.ts';

const ACCESS_KEY = 'resnet-batch';
const SECRET_KEY = 'resnet-batch-test-secret';
/** The image and command of docker-compose.yml's `s3` service, so tests and deployment share one server. */
const IMAGE = 'chrislusf/seaweedfs:4.44';
const COMMAND = [
  'mini',
  '-dir=/data',
  '-master.telemetry=false',
  '-admin.ui=false',
  '-webdav=false',
  '-s3.port.iceberg=0',
  '-s3.port.lance=0',
];

/**
 * The testcontainers path of startS3: SeaweedFS in a container (MinIO's images left Docker Hub,
 * infra/README.md). UNTESTED on the machine this was written on (a Docker client but no engine),
 * so it uses only documented testcontainers calls. kill() stops the container without removing
 * it; restart() starts it again with its data, and testcontainers re-reads the published port
 * (hence `endpoint` is a getter).
 */
export async function startSeaweedfsContainer(): Promise<TestS3> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const container = await new GenericContainer(IMAGE)
    .withCommand(COMMAND)
    .withEnvironment({ AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: SECRET_KEY })
    .withExposedPorts(8333)
    .withWaitStrategy(Wait.forHttp('/healthz', 8333))
    .withStartupTimeout(120_000)
    .start();
  let stopped = false;
  const s3: TestS3 = {
    get endpoint() {
      return `http://${container.getHost()}:${container.getMappedPort(8333)}`;
    },
    accessKeyId: ACCESS_KEY,
    secretAccessKey: SECRET_KEY,
    createBucket: (name) => createBucketAt(s3, name),
    kill: async () => {
      await container.stop({ remove: false, timeout: 0 });
    },
    restart: () => container.restart(),
    async stop() {
      if (stopped) return;
      stopped = true;
      await container.stop();
    },
  };
  return s3;
}
