// No image reference in docker-compose.yml, the Dockerfiles or infra/k8s is unpinned: each names a
// tag (or a digest), never `latest`, and an image pulled from a registry names a version. Images
// built from this repository (resnet-batch:<flavour>) are named by flavour instead.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { baseImages, compose, DOCKERFILES, k8sFiles, manifestImages, manifestsOf, repoFile } from './infra-files.ts';

/** registry/name[:tag][@sha256:digest] */
function parseReference(reference: string): { name: string; tag?: string; digest?: string } {
  const [withoutDigest = '', digest] = reference.split('@');
  const colon = withoutDigest.lastIndexOf(':');
  const hasTag = colon > withoutDigest.lastIndexOf('/');
  return {
    name: hasTag ? withoutDigest.slice(0, colon) : withoutDigest,
    ...(hasTag ? { tag: withoutDigest.slice(colon + 1) } : {}),
    ...(digest ? { digest } : {}),
  };
}

const OWN_IMAGE = 'resnet-batch';

/** Why `reference` is not pinned, or undefined when it is. */
function unpinned(reference: string): string | undefined {
  const { name, tag, digest } = parseReference(reference);
  if (digest !== undefined) return /^sha256:[0-9a-f]{64}$/.test(digest) ? undefined : 'a malformed digest';
  if (tag === undefined) return 'no tag';
  if (tag === 'latest') return 'the tag latest';
  if (name === OWN_IMAGE) return undefined;
  return /^v?\d+\.\d+/.test(tag) ? undefined : `tag '${tag}' is not a version`;
}

const references: [string, string][] = [
  ...Object.entries(compose.services).map(([name, service]): [string, string] => [
    `docker-compose.yml service ${name}`,
    service.image ?? '',
  ]),
  ...DOCKERFILES.flatMap((file) => baseImages(repoFile(file)).map((image): [string, string] => [file, image])),
  ...k8sFiles().flatMap((file) =>
    manifestsOf(file).flatMap((manifest) =>
      manifestImages(manifest).map((image): [string, string] => [`infra/k8s/${file} ${manifest.kind}`, image]),
    ),
  ),
];

describe('image references', () => {
  test('every compose service, Dockerfile base and Kubernetes container names an image', () => {
    assert.ok(references.length >= 15, `found ${references.length}`);
    for (const [where, image] of references) assert.ok(image, `${where} names no image`);
  });

  test('every image is pinned to a version (or a digest), never latest or a bare name', () => {
    const problems = references.flatMap(([where, image]) => {
      const why = unpinned(image);
      return why ? [`${where}: ${image} (${why})`] : [];
    });
    assert.deepEqual(problems, []);
  });

  test('the check itself catches the unpinned forms', () => {
    for (const bad of ['redis', 'redis:latest', 'minio/minio', 'grafana/grafana:main', 'node:lts-slim', 'x@sha256:12'])
      assert.ok(unpinned(bad), bad);
    for (const good of ['redis:8.2.10', 'localhost:5000/prom/prometheus:v3.15.0', `node@sha256:${'a'.repeat(64)}`])
      assert.equal(unpinned(good), undefined, good);
  });

  test('the images built here are only ever the ones this repository builds', () => {
    const built = new Set(Object.values(compose.services).flatMap((service) => (service.build ? [service.image] : [])));
    for (const [where, image] of references)
      if (parseReference(image).name === OWN_IMAGE)
        assert.ok(built.has(image), `${where}: ${image} is built by compose`);
  });
});
