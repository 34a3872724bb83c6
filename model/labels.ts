/**
 * Class names of the classifier, index -> label, from the artifact's assets/labels.json
 * ({"0": "tench", "1": "goldfish", ...}, the Keras ImageNet class names with underscores, e.g.
 * 'Egyptian_cat', 'espresso'). Kept verbatim so results match other Keras-based tools.
 */
import { ModelError } from '../shared/errors.ts';
import { type ReadModelFile, readModelJsonFile } from './read-model-file.ts';

/** Reads and checks the labels file: exactly `classCount` names for indices 0..classCount-1. */
export async function readLabels(read: ReadModelFile, path: string, classCount: number): Promise<string[]> {
  const { parsed } = await readModelJsonFile(read, path);
  return parseLabels(parsed, classCount, path);
}

/** Accepts an index-keyed object (the artifact's form) or an array of names. */
export function parseLabels(parsed: unknown, classCount: number, path: string): string[] {
  const entries = Array.isArray(parsed)
    ? parsed
    : typeof parsed === 'object' && parsed !== null
      ? indexed(parsed as Record<string, unknown>, classCount)
      : [];
  const labels = entries.filter((label): label is string => typeof label === 'string' && label.length > 0);
  if (labels.length !== classCount || entries.length !== classCount) {
    throw new ModelError(
      `${path} holds ${labels.length} usable labels for ${entries.length} entries, expected ${classCount} names for class indices 0..${classCount - 1}; the labels do not belong to this model`,
    );
  }
  return labels;
}

function indexed(object: Record<string, unknown>, classCount: number): unknown[] {
  const keys = Object.keys(object);
  if (keys.length !== classCount) return keys.map((key) => object[key]);
  return Array.from({ length: classCount }, (_, index) => object[String(index)]);
}
