import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ConfigError } from '../../errors.ts';
import type { StoreScheme } from '../store-scheme.ts';

/**
 * URIs of the local filesystem:
 *   file:///abs/path          an RFC 8089 file URI: percent-decoded, so `%20` is a space; an encoded
 *                             slash (`%2F`) is refused because it would hide a path separator.
 *   /abs/path, ./rel, rel     a plain path, taken literally and made absolute against `cwd`.
 * Canonical form: `file:///abs/path` percent-encoded the way node's pathToFileURL encodes (spaces
 * as %20, non-ASCII as UTF-8 escapes, `%` as %25), so the string round-trips exactly.
 * Paths are compared after normalisation (`..` resolved), so `/out/run/../x` is not inside `/out/run`.
 */
export interface FileLocation {
  scheme: 'file';
  /** Absolute, normalised filesystem path (no `.`/`..` segments, no trailing separator). */
  path: string;
}

const FORM = 'file:///absolute/path or a local path like ./images';

function parse(input: string, cwd: string): FileLocation {
  if (!/^file:/i.test(input)) return { scheme: 'file', path: resolve(cwd, input) };
  let url: URL;
  try {
    url = new URL(input);
  } catch (cause) {
    throw new ConfigError(`'${input}' is not a valid file URI; expected ${FORM}`, { cause });
  }
  if (!input.toLowerCase().startsWith('file://')) {
    throw new ConfigError(
      `'${input}' is not a file:// URI; write an absolute one as file:///abs/path or a plain path like ./images`,
    );
  }
  if (url.host !== '' && url.host !== 'localhost') {
    throw new ConfigError(
      `file URI '${input}' names host '${url.host}'; only local files are supported, write it as file:///abs/path`,
    );
  }
  if (url.search !== '' || url.hash !== '') {
    throw new ConfigError(
      `file URI '${input}' has a '?' or '#' part; encode them in the path as %3F and %23, or use a plain path`,
    );
  }
  try {
    return { scheme: 'file', path: resolve(fileURLToPath(url)) };
  } catch (cause) {
    throw new ConfigError(
      `file URI '${input}' cannot be decoded to a path (an encoded '/' as %2F, or a broken %-escape); write the path plainly`,
      {
        cause,
      },
    );
  }
}

/** Parses a file URI or plain path; a URI of another scheme is refused (stores get only their own). */
export function parseFileUri(input: string, cwd: string = process.cwd()): FileLocation {
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]+):/.exec(input)?.[1];
  if (scheme !== undefined && scheme.toLowerCase() !== 'file') {
    throw new ConfigError(`'${input}' is not a local path or file:// URI; expected ${FORM}`);
  }
  return parse(input, cwd);
}

export function formatFileUri(location: FileLocation): string {
  return pathToFileURL(location.path).href;
}

/** The URI syntax of the local store (local-store.ts adds how to open one). */
export const fileUriSyntax: Omit<StoreScheme<FileLocation>, 'open'> = {
  scheme: 'file',
  example: FORM,
  local: true,
  namesTellFormat: true,
  parse,
  format: formatFileUri,
  relativeKeyWithin(root, target) {
    const rel = relative(root.path, target.path);
    if (rel === '') return '';
    if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return null;
    return rel.split(sep).join('/');
  },
  join: (prefix, key) => ({ scheme: 'file', path: resolve(prefix.path, ...key.split('/')) }),
  resolve: (base, reference) => ({ scheme: 'file', path: resolve(dirname(base.path), reference) }),
  rootFolder(location) {
    const parts = location.path.split('/').slice(1);
    const folder = parts.slice(0, -1);
    // A file directly under '/' keeps the file itself as its root: a root is never '/' itself,
    // which would let a forged job read any file on a worker host.
    return { group: `/${parts[0] ?? ''}`, segments: folder.length === 0 ? parts : folder, minSegments: 1 };
  },
  folderAt: (_sample, segments) => ({ scheme: 'file', path: `/${segments.join('/')}` }),
  localPath: (location) => location.path,
  writeHint: (location) => `make ${location.path} a folder this user can write (mkdir -p, chmod), or fix --output`,
};
