import { createBucketAt, type TestS3 } from './s3-server.ts';

const USER = 'minioadmin';
const PASSWORD = 'minioadmin-secret';

/**
 * The testcontainers path of startS3: MinIO in a container. UNTESTED on the machine this was
 * written on (a Docker client but no engine), so it uses only documented testcontainers calls.
 * kill() stops the container without removing it; restart() starts it again with its data, and
 * testcontainers re-reads the published port (hence `endpoint` is a getter).
 */
export async function startMinioContainer(): Promise<TestS3> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const container = await new GenericContainer('minio/minio:latest')
    .withCommand(['server', '/data'])
    .withEnvironment({ MINIO_ROOT_USER: USER, MINIO_ROOT_PASSWORD: PASSWORD })
    .withExposedPorts(9000)
    .withWaitStrategy(Wait.forHttp('/minio/health/live', 9000))
    .start();
  let stopped = false;
  const s3: TestS3 = {
    get endpoint() {
      return `http://${container.getHost()}:${container.getMappedPort(9000)}`;
    },
    accessKeyId: USER,
    secretAccessKey: PASSWORD,
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
