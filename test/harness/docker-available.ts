import { execFile } from 'node:child_process';

/**
 * Whether test services come from containers (testcontainers: Redis, SeaweedFS) or from local
 * processes (redis-server, s3rver). TEST_SERVICES=local or TEST_SERVICES=docker forces one;
 * unset, containers are used when a Docker engine answers `docker info` within 3 s. The answer is
 * computed once per test process.
 */
let cached: Promise<boolean> | undefined;

export function useContainers(): Promise<boolean> {
  const forced = process.env.TEST_SERVICES;
  if (forced === 'local') return Promise.resolve(false);
  if (forced === 'docker') return Promise.resolve(true);
  cached ??= dockerEngineAnswers();
  return cached;
}

function dockerEngineAnswers(): Promise<boolean> {
  return new Promise((resolve) => {
    // Bounded: a docker client without an engine fails in ~0.1 s, but an unreachable remote
    // DOCKER_HOST could hang for the TCP timeout.
    execFile('docker', ['info', '--format', '{{.ServerVersion}}'], { timeout: 3_000 }, (error, stdout) => {
      resolve(error === null && stdout.trim() !== '');
    });
  });
}
