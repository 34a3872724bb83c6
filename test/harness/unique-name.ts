import { randomBytes } from 'node:crypto';

/**
 * A name no other test (or test process) uses: `<prefix>-<base36 time>-<8 hex>`, lowercase, so
 * it is also a valid S3 bucket name when the prefix is (3-63 chars of a-z 0-9 -). Use one per
 * test for queue prefixes, buckets, run ids and folders, so tests never see each other's data.
 */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`.toLowerCase();
}
