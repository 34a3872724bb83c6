// docker-compose.yml validated by Compose itself: `docker-compose config -q` (Debian's
// docker-compose package, 1.29.2, which checks the file against the Compose schema offline and
// needs no Docker engine) for the default services and each profile. .ci/run installs it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { compose } from './infra-files.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

function composeConfig(args: string[], env: Record<string, string | undefined>) {
  const result = spawnSync('docker-compose', [...args, 'config', '-q'], {
    cwd: root,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    encoding: 'utf8',
  });
  if (result.error)
    assert.fail(`docker-compose is not installed (apt-get install docker-compose): ${result.error.message}`);
  return result;
}

const profiles = [...new Set(Object.values(compose.services).flatMap((service) => service.profiles ?? []))].sort();

describe('docker-compose config', () => {
  test('the file declares the gpu, tfjs-gpu, monitoring and producer profiles', () => {
    assert.deepEqual(profiles, ['gpu', 'monitoring', 'producer', 'tfjs-gpu']);
  });

  for (const profile of [undefined, ...profiles, 'all']) {
    const args =
      profile === undefined
        ? []
        : profile === 'all'
          ? profiles.flatMap((name) => ['--profile', name])
          : ['--profile', profile];
    test(`is valid ${profile === undefined ? 'with the default services' : `with --profile ${profile}`}`, () => {
      const result = composeConfig(args, { DASHBOARD_PASSWORD: 'a-test-password' });
      assert.equal(result.status, 0, result.stderr);
    });
  }

  test('refuses to start without DASHBOARD_PASSWORD and says which variable to set', () => {
    const result = composeConfig([], {});
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /set DASHBOARD_PASSWORD in the environment or in \.env/);
  });
});
