import { z } from 'zod';
import { ConfigError, describeError } from '../shared/errors.ts';
import { schemaProblems } from '../shared/schema-problems.ts';
import { parseUri } from '../shared/storage/uri.ts';
import { csvRows } from './csv-rows.ts';
import type { ManifestItem, StoreOpener } from './listing-types.ts';
import { parquetRows } from './parquet-rows.ts';

/**
 * An S3 Inventory report as the input: `submit s3://bucket/inventory/<source>/<config>/<date>/manifest.json`
 * reads the report's data files instead of listing the source bucket, which at 1,000 keys per
 * LIST request takes hours for 100M+ objects. The manifest.json names the source bucket, the
 * format and the data files (in the destination bucket); each row of a data file is an object.
 *
 *   - CSV data files (gzip, no header) have the columns fileSchema lists ("Bucket, Key, Size, ..."),
 *     and their keys URL-encoded as a form is ('+' for a space, %2B for a '+'), which is undone;
 *   - Parquet data files have the columns bucket, key, size, e_tag, ...;
 *   - ORC is not read: configure the inventory as CSV or Parquet.
 * Size and ETag come from the report when it has them (Size and ETag are optional fields of an
 * inventory configuration: include them, ETag is what `--since` compares). Rows of objects that
 * are not current (IsLatest false, delete markers: a report of all versions) and folder markers
 * (keys ending in '/') are left out. The report's other columns are not carried: they describe
 * storage, not the images.
 */
const manifestSchema = z.object({
  sourceBucket: z.string().min(1),
  destinationBucket: z.string().min(1),
  fileFormat: z.string(),
  fileSchema: z.string().min(1),
  files: z.array(z.object({ key: z.string().min(1) }).loose()).min(1),
});

type InventoryManifest = z.infer<typeof manifestSchema>;

/** Largest manifest.json read: a report of billions of objects lists a few thousand files. */
const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;

export async function* inventoryEntries(manifestUri: string, openStore: StoreOpener): AsyncGenerator<ManifestItem> {
  const manifest = await readManifest(manifestUri, openStore);
  const format = manifest.fileFormat.toLowerCase();
  const bucket = destinationBucketOf(manifest, manifestUri);
  const csvColumns = format === 'csv' ? manifest.fileSchema.split(',').map((name) => name.trim()) : undefined;
  for (const file of manifest.files) {
    const fileUri = `s3://${bucket}/${file.key}`;
    const rows =
      csvColumns === undefined
        ? parquetRows(fileUri, openStore)
        : csvRows(fileUri, openStore, { columns: csvColumns, gzip: file.key.endsWith('.gz') });
    for await (const row of rows) {
      const where = `${fileUri}:${row.number}`;
      const object = inventoryObject(row.values, csvColumns !== undefined);
      if (object === null) continue;
      if (object.bucket !== manifest.sourceBucket) {
        yield {
          reason: 'invalid-entry',
          where,
          detail: `row of bucket ${object.bucket}, not the report's ${manifest.sourceBucket}`,
        };
        continue;
      }
      yield {
        info: { uri: `s3://${object.bucket}/${object.key}`, size: object.size, etag: object.etag },
        fields: {},
        where,
      };
    }
  }
}

async function readManifest(uri: string, openStore: StoreOpener): Promise<InventoryManifest> {
  const store = openStore(uri);
  let value: unknown;
  try {
    value = JSON.parse((await store.read(uri, { maxBytes: MAX_MANIFEST_BYTES })).toString('utf8'));
  } catch (error) {
    throw new ConfigError(`cannot read S3 Inventory manifest ${uri}: ${describeError(error)}`, { cause: error });
  } finally {
    await store.close();
  }
  const parsed = manifestSchema.safeParse(value);
  if (!parsed.success) {
    throw new ConfigError(
      `${uri} is not an S3 Inventory manifest (${schemaProblems(parsed.error)}); give the manifest.json of an inventory report, or name a list file .txt, .jsonl, .csv or .parquet`,
    );
  }
  const format = parsed.data.fileFormat.toLowerCase();
  if (format !== 'csv' && format !== 'parquet') {
    throw new ConfigError(
      `${uri} is an S3 Inventory report in ${parsed.data.fileFormat}, which is not read; configure the inventory with the CSV or Parquet format`,
    );
  }
  return parsed.data;
}

/** The bucket holding the data files: destinationBucket is an ARN (arn:aws:s3:::name) or a plain name. */
function destinationBucketOf(manifest: InventoryManifest, manifestUri: string): string {
  const name = manifest.destinationBucket.replace(/^arn:aws[a-z-]*:s3:::/, '');
  try {
    parseUri(`s3://${name}/`);
  } catch {
    throw new ConfigError(
      `${manifestUri} names destination bucket '${manifest.destinationBucket}', which is not a bucket name`,
    );
  }
  return name;
}

/** One row as the object it describes, or null for a row that is not a current object. */
function inventoryObject(
  values: Record<string, unknown>,
  urlEncodedKeys: boolean,
): { bucket: string; key: string; size: number; etag: string } | null {
  const field = (name: string): unknown => {
    for (const [column, value] of Object.entries(values))
      if (column.toLowerCase().replace(/_/g, '') === name) return value;
    return undefined;
  };
  if (isFalse(field('islatest')) || isTrue(field('isdeletemarker'))) return null;
  const rawKey = String(field('key') ?? '');
  const key = urlEncodedKeys ? decodeFormEncoded(rawKey) : rawKey;
  if (key === '' || key.endsWith('/')) return null;
  const size = Number(field('size'));
  return {
    bucket: String(field('bucket') ?? ''),
    key,
    size: Number.isSafeInteger(size) && size >= 0 ? size : -1,
    etag: String(field('etag') ?? '').replace(/^"|"$/g, ''),
  };
}

function decodeFormEncoded(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

const isTrue = (value: unknown) => value === true || String(value).toLowerCase() === 'true';
const isFalse = (value: unknown) => value === false || String(value).toLowerCase() === 'false';
