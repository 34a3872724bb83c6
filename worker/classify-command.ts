import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { configFromEnv } from '../shared/config.ts';
import { ConfigError, ObjectNotFoundError } from '../shared/errors.ts';
import type { EngineChoice } from '../shared/inference/engine.ts';
import { decodableNameTest } from '../shared/inference/image-formats.ts';
import { resolveModelRef } from '../shared/inference/model-ref.ts';
import type { Precision } from '../shared/inference/precision.ts';
import { openEngine } from './engines/open-engine.ts';
import { type ImageResult, processImages } from './image-pipeline.ts';

const isImageName = decodableNameTest();

export interface ClassifyOptions {
  json: boolean;
  top: number;
  /** Default ENGINE (shared/config.ts), else auto. */
  engine?: EngineChoice;
  model?: string;
  /** Default PRECISION (fp32). int8 builds its graph on first use, with progress lines on stderr. */
  precision?: Precision;
  batchSize: number;
}

/**
 * `resnet-batch classify`: local files and folders in, top-k labels out, one line per image.
 * Returns the exit code: 0 all classified, 2 some failed (each with an error line).
 */
export async function classifyCommand(paths: string[], options: ClassifyOptions): Promise<number> {
  const files = await expandPaths(paths);
  if (files.length === 0)
    throw new ConfigError(`no files found in ${paths.join(', ')}; pass image files or folders that contain images`);
  const config = configFromEnv();
  const { engine, model } = await openEngine({
    choice: options.engine ?? config.ENGINE,
    modelRef: resolveModelRef(options.model, config),
    precision: options.precision ?? config.PRECISION,
    onProgress: (message) => process.stderr.write(`resnet-batch: ${message}\n`),
  });
  let failures = 0;
  try {
    const tasks = files.map((file) => ({ key: file, fetch: () => readLocal(file) }));
    for await (const result of processImages(tasks, {
      engine,
      labels: model.labels,
      batchSize: options.batchSize,
      topK: options.top,
    })) {
      if (result.status === 'error') failures += 1;
      process.stdout.write(options.json ? `${JSON.stringify(toJsonLine(result))}\n` : formatText(result));
    }
  } finally {
    await engine.dispose();
  }
  return failures === 0 ? 0 : 2;
}

function toJsonLine(result: ImageResult<string>): object {
  if (result.status === 'error') return { file: result.key, error: result.error };
  return {
    file: result.key,
    top: result.top.map(({ label, index, score }) => ({ label, index, score: Number(score.toFixed(6)) })),
  };
}

function formatText(result: ImageResult<string>): string {
  if (result.status === 'error') return `${result.key}\n  error: ${result.error}\n`;
  const lines = result.top.map(
    (entry) => `  ${(entry.score * 100).toFixed(2).padStart(6)}%  ${entry.label} (${entry.index})`,
  );
  return `${result.key}\n${lines.join('\n')}\n`;
}

async function readLocal(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new ObjectNotFoundError(file);
    throw error;
  }
}

/**
 * Files as given (each is tried, whatever its name), folders walked recursively in name order,
 * keeping the files whose extension sharp decodes, as the producer does: `classify ~/Pictures`
 * does not report every README and .DS_Store as a failure.
 */
async function expandPaths(paths: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const path of paths) {
    const absolute = resolve(path);
    const info = await stat(absolute).catch(() => undefined);
    if (!info) {
      files.push(absolute); // reported as a per-file "not found" line, like any other unreadable file
    } else if (info.isDirectory()) {
      const entries = (await readdir(absolute, { recursive: true, withFileTypes: true }))
        .filter((entry) => entry.isFile() && !entry.name.startsWith('.') && isImageName(entry.name))
        .map((entry) => join(entry.parentPath, entry.name))
        .sort();
      files.push(...entries);
    } else {
      files.push(absolute);
    }
  }
  return files;
}
