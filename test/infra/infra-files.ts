// Readers of the deployment files for the tests of test/infra/: docker-compose.yml (YAML merge
// keys resolved, as Compose does), the Dockerfiles (FROM lines with their ARG defaults), and the
// Kubernetes manifests of infra/k8s (every document of every file).
import { readdirSync, readFileSync } from 'node:fs';
import { parse, parseAllDocuments } from 'yaml';

export interface ComposeService {
  image?: string;
  build?: { context?: string; dockerfile?: string };
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string | null>;
  profiles?: string[];
  ports?: string[];
  container_name?: string;
  volumes?: string[];
  healthcheck?: { test?: string[]; start_period?: string };
  depends_on?: Record<string, { condition?: string }> | string[];
  stop_grace_period?: string;
  init?: boolean;
  deploy?: {
    resources?: {
      reservations?: { devices?: { driver?: string; count?: number | string; capabilities?: string[] }[] };
    };
  };
}

export const repoFile = (path: string): string => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

// merge: Compose honours YAML merge keys (<<), which the file uses for what services share.
export const compose = parse(repoFile('docker-compose.yml'), { merge: true }) as {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
};

/** The command as one string, whether written as a list or a string. */
export function commandLine(value: string | string[] | undefined): string {
  return Array.isArray(value) ? value.join(' ') : (value ?? '');
}

export const DOCKERFILES = ['infra/Dockerfile', 'infra/Dockerfile.onnx-cuda', 'infra/Dockerfile.tfjs-node-gpu'];

/**
 * Images named in FROM lines, with `${NAME}` replaced by the default of its `ARG NAME=...` (what a
 * build without --build-arg uses), leaving out references to an earlier stage.
 */
export function baseImages(dockerfile: string): string[] {
  const args = new Map<string, string>();
  const stages = new Set<string>();
  const images: string[] = [];
  for (const line of dockerfile.split('\n').map((text) => text.trim())) {
    const arg = /^ARG\s+(\w+)=(\S+)/i.exec(line);
    if (arg?.[1] && arg[2]) args.set(arg[1], arg[2]);
    const from = /^FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (!from?.[1]) continue;
    const image = from[1].replace(/\$\{(\w+)\}|\$(\w+)/g, (_, braced, bare) => args.get(braced ?? bare) ?? '');
    if (!stages.has(image)) images.push(image);
    if (from[2]) stages.add(from[2]);
  }
  return images;
}

/** The text after the last FROM line: the stage that becomes the image. */
export function finalStage(dockerfile: string): string {
  return dockerfile.split(/^(?=FROM\s)/m).at(-1) ?? '';
}

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  // biome-ignore lint/suspicious/noExplicitAny: manifests are free-form YAML; the assertions check the shape.
  spec: Record<string, any>;
}

export const k8sFile = (name: string): string => repoFile(`infra/k8s/${name}`);
export const manifestsOf = (name: string): Manifest[] =>
  parseAllDocuments(k8sFile(name)).map((document) => document.toJSON() as Manifest);

/** Every .yaml file of infra/k8s. */
export const k8sFiles = (): string[] =>
  readdirSync(new URL('../../infra/k8s/', import.meta.url)).filter((name) => name.endsWith('.yaml'));

/** Every container image a manifest runs (containers and init containers, in any pod template). */
export function manifestImages(manifest: Manifest): string[] {
  const found: string[] = [];
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (value && typeof value === 'object') {
      for (const [key, child] of Object.entries(value)) {
        if ((key === 'containers' || key === 'initContainers') && Array.isArray(child))
          for (const container of child as { image?: string }[]) if (container.image) found.push(container.image);
        visit(child);
      }
    }
  };
  visit(manifest.spec);
  return found;
}
