import { Readable } from 'node:stream';
import type { GetObjectCommandOutput, S3Client } from '@aws-sdk/client-s3';
import { ObjectTooLargeError, PreconditionFailedError, StorageError } from '../../errors.ts';
import type { ListOptions, ObjectInfo, ObjectRead, ObjectStore, WriteOptions } from '../object-store.ts';
import type { StorageConfig } from '../storage-config.ts';
import type { StoreScheme } from '../store-scheme.ts';
import { s3Sdk, s3Uploads } from './aws-sdk.ts';
import { leaseS3Client } from './s3-client.ts';
import { toStorageError } from './s3-errors.ts';
import { formatS3Uri, parseS3Uri, type S3Location, s3UriSyntax } from './s3-uri.ts';

export interface S3StoreOptions {
  /** Shown in error messages to say which store failed. Default 'AWS S3'. */
  endpointLabel?: string;
  /**
   * Bodies of at least this many bytes are written by multipart upload (@aws-sdk/lib-storage),
   * smaller ones by one PutObject. Default 8 MiB: one PutObject is cheaper below that, and parts
   * let a large .npy upload in parallel and retry one part at a time.
   */
  multipartThresholdBytes?: number;
  /** Bytes per multipart part. Default 8 MiB; S3 requires >= 5 MiB and at most 10,000 parts. */
  partSizeBytes?: number;
  /** Parts uploaded concurrently per write; memory use is up to queueSize x partSize. Default 4. */
  queueSize?: number;
  /** Called once by close() instead of destroying the client, for clients shared by openStore. */
  release?: () => void;
}

const MiB = 1024 * 1024;

/**
 * ObjectStore over S3 and S3-compatible stores (MinIO, s3rver, ...).
 *
 * - A list prefix is a folder, as in the AWS CLI's recursive commands: `s3://b/img` lists the
 *   object `img` itself if it exists, then everything under `img/`, but not `img2/...`. Keys ending
 *   in '/' (folder markers made by consoles) are skipped: they are never images.
 * - read() checks the GetObject response's Content-Length before taking any body bytes, so the
 *   size limit costs no extra HeadObject round trip and no race between a HEAD and the GET; the
 *   byte count is checked again while reading in case a server sends no length.
 * - Writes are atomic per object on S3: a PutObject or a completed multipart upload replaces the
 *   object in one step, and a failed multipart upload is aborted (lib-storage's default).
 */
export class S3Store implements ObjectStore {
  private readonly endpointLabel: string;
  private readonly threshold: number;
  private readonly partSize: number;
  private readonly queueSize: number;
  private closed = false;

  constructor(
    /** The SDK client, for calls outside the contract (e.g. HeadBucket when validating config). */
    readonly client: S3Client,
    private readonly options: S3StoreOptions = {},
  ) {
    this.endpointLabel = options.endpointLabel ?? 'AWS S3';
    this.threshold = options.multipartThresholdBytes ?? 8 * MiB;
    this.partSize = options.partSizeBytes ?? 8 * MiB;
    this.queueSize = options.queueSize ?? 4;
  }

  async *list(prefixUri: string, options: ListOptions = {}): AsyncIterable<ObjectInfo[]> {
    const { bucket, key } = s3Location(prefixUri);
    if (key !== '' && !key.endsWith('/')) {
      const exact = await this.stat(prefixUri);
      if (exact !== null) yield [exact];
    }
    const folder = key === '' || key.endsWith('/') ? key : `${key}/`;
    const pages = s3Sdk().paginateListObjectsV2(
      { client: this.client, pageSize: Math.min(options.pageSize ?? 1000, 1000) },
      { Bucket: bucket, Prefix: folder },
    );
    try {
      for await (const page of pages) {
        const infos = (page.Contents ?? [])
          .filter((object) => object.Key !== undefined && !object.Key.endsWith('/'))
          .map((object) => ({
            uri: formatS3Uri({ bucket, key: object.Key! }),
            size: object.Size ?? 0,
            etag: unquote(object.ETag),
          }));
        if (infos.length > 0) yield infos;
      }
    } catch (error) {
      throw this.error('list', prefixUri, error);
    }
  }

  async stat(uri: string): Promise<ObjectInfo | null> {
    const { bucket, key } = s3Location(uri);
    try {
      const head = await this.client.send(new (s3Sdk().HeadObjectCommand)({ Bucket: bucket, Key: key }));
      return { uri: formatS3Uri({ bucket, key }), size: head.ContentLength ?? 0, etag: unquote(head.ETag) };
    } catch (error) {
      const mapped = this.error('stat', uri, error);
      if (mapped.code === 'NOT_FOUND') return null;
      throw mapped;
    }
  }

  async read(uri: string, options: { maxBytes?: number } = {}): Promise<Buffer> {
    return (await this.readObject(uri, options)).body;
  }

  async readObject(uri: string, options: { maxBytes?: number } = {}): Promise<ObjectRead> {
    const { body, info } = await this.get(uri, options.maxBytes);
    const chunks: Buffer[] = [];
    let total = 0;
    try {
      for await (const chunk of body) {
        total += (chunk as Buffer).length;
        if (options.maxBytes !== undefined && total > options.maxBytes) {
          body.destroy();
          throw new ObjectTooLargeError(uri, total, options.maxBytes);
        }
        chunks.push(chunk as Buffer);
      }
    } catch (error) {
      throw this.error('read', uri, error);
    }
    return { body: Buffer.concat(chunks, total), info: { ...info, size: total } };
  }

  async readStream(uri: string): Promise<Readable> {
    return (await this.get(uri, undefined)).body;
  }

  async write(uri: string, body: Buffer | Uint8Array | string, options: WriteOptions = {}): Promise<void> {
    const { bucket, key } = s3Location(uri);
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    const params = {
      Bucket: bucket,
      Key: key,
      Body: bytes,
      ...(options.contentType === undefined ? {} : { ContentType: options.contentType }),
      ...(options.ifNoneMatch === undefined ? {} : { IfNoneMatch: options.ifNoneMatch }),
    };
    try {
      // A create-only write is always one PutObject: the objects written that way (commit
      // markers, run definitions) are small, and a conditional multipart completion is not
      // supported by every S3-compatible server.
      if (bytes.byteLength < this.threshold || options.ifNoneMatch !== undefined) {
        await this.client.send(new (s3Sdk().PutObjectCommand)(params));
      } else {
        await new (s3Uploads().Upload)({
          client: this.client,
          params,
          partSize: this.partSize,
          queueSize: this.queueSize,
          leavePartsOnError: false,
        }).done();
      }
    } catch (error) {
      if (options.ifNoneMatch !== undefined && isPreconditionFailure(error)) throw new PreconditionFailedError(uri);
      throw this.error('write', uri, error);
    }
  }

  async delete(uri: string): Promise<void> {
    const { bucket, key } = s3Location(uri);
    try {
      // DeleteObject succeeds for a key that does not exist.
      await this.client.send(new (s3Sdk().DeleteObjectCommand)({ Bucket: bucket, Key: key }));
    } catch (error) {
      throw this.error('delete', uri, error);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.options.release !== undefined) this.options.release();
    else this.client.destroy();
  }

  /** GetObject with the size check done on the response headers, before any body bytes are read. */
  private async get(uri: string, maxBytes: number | undefined): Promise<{ body: Readable; info: ObjectInfo }> {
    const { bucket, key } = s3Location(uri);
    let response: GetObjectCommandOutput;
    try {
      response = await this.client.send(new (s3Sdk().GetObjectCommand)({ Bucket: bucket, Key: key }));
    } catch (error) {
      throw this.error('read', uri, error);
    }
    const body = response.Body;
    if (!(body instanceof Readable)) {
      throw new StorageError(`S3 read of ${uri} returned no Node.js stream body; this store runs under Node.js only`, {
        retryable: false,
      });
    }
    const size = response.ContentLength;
    if (maxBytes !== undefined && size !== undefined && size > maxBytes) {
      // Destroying the body drops its connection instead of draining bytes nobody wants.
      body.destroy();
      throw new ObjectTooLargeError(uri, size, maxBytes);
    }
    return { body, info: { uri: formatS3Uri({ bucket, key }), size: size ?? 0, etag: unquote(response.ETag) } };
  }

  private error(operation: string, uri: string, error: unknown) {
    return toStorageError(operation, uri, this.endpointLabel, error);
  }
}

function s3Location(uri: string): S3Location {
  try {
    return parseS3Uri(uri);
  } catch (error) {
    throw new StorageError(`S3Store got '${uri}' (${(error as Error).message}); open stores with openStore`, {
      retryable: false,
    });
  }
}

/** 412 Precondition Failed (AWS: PreconditionFailed; some servers answer 409 ConditionalRequestConflict). */
function isPreconditionFailure(error: unknown): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const name = error instanceof Error ? error.name : '';
  return status === 412 || name === 'PreconditionFailed' || name === 'ConditionalRequestConflict';
}

function unquote(etag: string | undefined): string {
  return (etag ?? '').replace(/^"|"$/g, '');
}

/**
 * S3 and S3-compatible stores in the store registry. Stores opened for the same endpoint and
 * credentials share one client (s3-client.ts leaseS3Client); close() releases the store's lease.
 */
export const s3Scheme: StoreScheme<S3Location> = {
  ...s3UriSyntax,
  open(config: StorageConfig) {
    const lease = leaseS3Client(config.s3);
    return new S3Store(lease.client, {
      endpointLabel: config.s3.endpoint ?? `AWS S3 (${config.s3.region})`,
      release: lease.release,
    });
  },
};
