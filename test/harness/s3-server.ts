import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { type StorageConfig, storageConfigFromEnv } from '../../shared/storage/storage-config.ts';
import { type ServerProcess, startServerProcess } from './child-process.ts';
import { useContainers } from './docker-available.ts';
import { startSeaweedfsContainer } from './seaweedfs-container.ts';
import { useResource } from './set-up-scope.ts';
import { uniqueName } from './unique-name.ts';

/** An S3-protocol server for tests. Always call stop(). */
export interface TestS3 {
  /** http://host:port; path-style addressing only. Read it again after restart() (a container may move). */
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Creates an empty bucket; use uniqueName('bkt') for one per test. */
  createBucket(name: string): Promise<void>;
  /** Stops the server abruptly (data kept), to test storage outages; restart() brings it back. */
  kill(): Promise<void>;
  /** Starts it again with the same data (stopping it first if it still runs). */
  restart(): Promise<void>;
  /** Stops the server and removes its data. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts a real S3-protocol server: SeaweedFS (the compose image) through testcontainers when a Docker engine answers,
 * otherwise s3rver (the npm devDependency) as a child process on 127.0.0.1, on a port it picks
 * itself, with its data in a temporary directory. A child process rather than in-process, so the
 * server keeps answering while the test process is busy, and kill() is a real outage.
 */
export async function startS3(): Promise<TestS3> {
  return (await useContainers()) ? startSeaweedfsContainer() : startS3rver();
}

/**
 * An S3 server started before the scope's tests and stopped after them: `const s3 = useS3()` at
 * the top of a file or describe block; each test takes its own bucket with newBucket().
 */
export function useS3(): TestS3 {
  const current = useResource(startS3, (s3) => s3.stop());
  return {
    get endpoint() {
      return current().endpoint;
    },
    get accessKeyId() {
      return current().accessKeyId;
    },
    get secretAccessKey() {
      return current().secretAccessKey;
    },
    createBucket: (name) => current().createBucket(name),
    kill: () => current().kill(),
    restart: () => current().restart(),
    stop: () => current().stop(),
  };
}

/** Creates an empty bucket named `<prefix>-<unique>`, for one test or run; resolves with its name. */
export async function newBucket(s3: TestS3, prefix = 'bkt'): Promise<string> {
  const name = uniqueName(prefix);
  await s3.createBucket(name);
  return name;
}

/**
 * The environment the code under test needs to reach `s3`: merge it into a child's env, or pass
 * it to storageConfigFromEnv. process.env is never modified, so tests can run servers side by side.
 */
export function s3Env(s3: TestS3): Record<string, string> {
  return {
    S3_ENDPOINT: s3.endpoint,
    S3_FORCE_PATH_STYLE: 'true',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
  };
}

/** The StorageConfig for `s3`, for openStore(uri, config) in-process. */
export function s3StorageConfig(s3: TestS3): StorageConfig {
  return storageConfigFromEnv(s3Env(s3));
}

/** Shared by both server kinds: CreateBucket through a short-lived client. */
export async function createBucketAt(s3: TestS3, name: string): Promise<void> {
  const config = s3StorageConfig(s3).s3;
  const client = new S3Client({ ...config, endpoint: s3.endpoint, credentials: config.credentials! });
  try {
    await client.send(new CreateBucketCommand({ Bucket: name }));
  } finally {
    client.destroy();
  }
}

async function startS3rver(): Promise<TestS3> {
  const require = createRequire(import.meta.url);
  const bin = join(dirname(require.resolve('s3rver/package.json')), 'bin', 's3rver.js');
  const dir = await mkdtemp(join(tmpdir(), 'resnet-batch-s3rver-'));
  let port = 0;
  let server: ServerProcess | undefined;
  let stopped = false;
  const launch = async () => {
    // Port 0 the first time (s3rver prints the one it got), the same port on restart.
    // s3rver encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3 (Node >= 17)
    // only offers through its legacy provider; without it every second listing page is a 500.
    const args = [
      '--openssl-legacy-provider',
      bin,
      '--directory',
      dir,
      '--address',
      '127.0.0.1',
      '--port',
      String(port),
      '--silent',
      '--no-vhost-buckets',
    ];
    const started = await startServerProcess(process.execPath, args, { ready: /S3rver listening on [^:]+:(\d+)/ });
    server = started.server;
    port = Number(started.match[1]);
  };
  await launch().catch(async (error: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw error;
  });
  const s3: TestS3 = {
    get endpoint() {
      return `http://127.0.0.1:${port}`;
    },
    // s3rver's one built-in account.
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    createBucket: (name) => createBucketAt(s3, name),
    kill: async () => server?.stop('SIGKILL'),
    async restart() {
      if (stopped) throw new Error('restart() after stop(): the data is gone; start a new server instead');
      await server?.stop('SIGTERM');
      await launch();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await server?.stop('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
  };
  return s3;
}
