import { createHash } from 'node:crypto';
import type { RunManifest } from './output-format.ts';

/**
 * The digest a manifest records of itself (`manifest_sha256`): sha256 (hex) of its canonical
 * JSON, every field but `manifest_sha256`, object keys sorted at every level, no whitespace. So
 * re-indenting or re-ordering the file keeps it valid while any changed value (a count, a
 * checksum, a shard list) does not. It detects edits and damage, not forgery.
 */
export function manifestDigest(manifest: RunManifest): string {
  const { manifest_sha256: _own, ...rest } = manifest;
  return createHash('sha256').update(canonicalJson(rest)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    // Keys whose value is undefined are left out, as JSON.stringify leaves them out of the file.
    const record = value as Record<string, unknown>;
    const entries = Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
