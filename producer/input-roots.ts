import { ConfigError } from '../shared/errors.ts';
import { folderUri, rootFolderOf } from '../shared/storage/uri.ts';

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

/** The job schema's bound on inputRoots (shared/queue/job-payload.ts). */
export const MAX_INPUT_ROOTS = 64;

export class InputRootsBuilder {
  /** group (an S3 bucket, a top-level local folder) -> a URI of the group and the common folder segments so far. */
  private readonly groups = new Map<string, { sample: string; segments: string[] }>();

  /** Widens the roots to cover `uri` (a canonical URI of one image). */
  add(uri: string): void {
    const folder = rootFolderOf(uri);
    const current = this.groups.get(folder.group);
    if (current === undefined) {
      if (this.groups.size >= MAX_INPUT_ROOTS) {
        throw new ConfigError(
          `the manifest's images lie in more than ${MAX_INPUT_ROOTS} buckets or top-level folders (the ${MAX_INPUT_ROOTS + 1}th is ${folder.group}); ` +
            `a run reads from at most ${MAX_INPUT_ROOTS} roots, so split the manifest into several runs`,
        );
      }
      this.groups.set(folder.group, { sample: uri, segments: folder.segments });
      return;
    }
    let common = 0;
    while (
      common < current.segments.length &&
      common < folder.segments.length &&
      current.segments[common] === folder.segments[common]
    )
      common += 1;
    current.segments.length = Math.min(current.segments.length, Math.max(common, folder.minSegments));
  }

  /** The roots as canonical URIs, sorted. */
  roots(): string[] {
    return [...this.groups.values()].map((group) => folderUri(group.sample, group.segments)).sort();
  }
}
