import { ConfigError } from '../shared/errors.ts';
import { formatUri, parseUri } from '../shared/storage/uri.ts';

/**
 * The run's input roots: the folders every image URI of the run lies under. The worker refuses a
 * job naming anything outside the roots recorded at submit (worker/authorize-shard.ts), so they
 * are the run's read permission and should be as narrow as the input allows:
 *   - an s3:// prefix or a local folder is its own single root;
 *   - a manifest's roots are, per S3 bucket and per top-level local folder (/data, /home, ...),
 *     the deepest folder holding all of the manifest's images there. Grouping by top-level folder
 *     means a manifest naming /data/a.jpg and /home/me/b.jpg gets /data and /home/me, never '/'
 *     (which would let a forged job read any file on a worker host).
 *
 * The roots are fixed when the run record is created, before any shard is enqueued, so for a
 * manifest they take one streaming pass over it (see list-inputs.ts).
 */

/** The job schema's bound on inputRoots (shared/job-payload.ts). */
export const MAX_INPUT_ROOTS = 64;

export class InputRootsBuilder {
  /** group ('s3://bucket' or '/top') -> common folder segments so far. */
  private readonly groups = new Map<string, { scheme: 's3' | 'file'; bucket: string; segments: string[] }>();

  /** Widens the roots to cover `uri` (a canonical URI of one image). */
  add(uri: string): void {
    const location = parseUri(uri);
    const parts = location.scheme === 's3' ? location.key.split('/') : location.path.split('/').slice(1);
    const folder = parts.slice(0, -1);
    const group = location.scheme === 's3' ? `s3://${location.bucket}` : `/${parts[0] ?? ''}`;
    const current = this.groups.get(group);
    if (current === undefined) {
      if (this.groups.size >= MAX_INPUT_ROOTS) {
        throw new ConfigError(
          `the manifest's images lie in more than ${MAX_INPUT_ROOTS} buckets or top-level folders (the ${MAX_INPUT_ROOTS + 1}th is ${group}); ` +
            `a run reads from at most ${MAX_INPUT_ROOTS} roots, so split the manifest into several runs`,
        );
      }
      // A local file directly under a top-level folder keeps the file itself as the root, never '/'.
      const segments = location.scheme === 'file' && folder.length === 0 ? parts : folder;
      this.groups.set(group, { scheme: location.scheme, bucket: location.scheme === 's3' ? location.bucket : '', segments });
      return;
    }
    let common = 0;
    while (common < current.segments.length && common < folder.length && current.segments[common] === folder[common]) common += 1;
    if (location.scheme === 'file') common = Math.max(common, 1);
    current.segments.length = Math.min(current.segments.length, common);
  }

  /** The roots as canonical URIs, sorted. */
  roots(): string[] {
    return [...this.groups.values()]
      .map((group) =>
        group.scheme === 's3'
          ? formatUri({ scheme: 's3', bucket: group.bucket, key: group.segments.length === 0 ? '' : `${group.segments.join('/')}/` })
          : formatUri({ scheme: 'file', path: `/${group.segments.join('/')}` }),
      )
      .sort();
  }
}
