import { ConfigError } from '../../errors.ts';
import type { StoreScheme } from '../store-scheme.ts';

/**
 * URIs of images on the web: `https://host[:port]/path?query` and `http://...`. Canonical form:
 * the WHATWG URL serialisation (scheme and host in lower case, default port dropped, path
 * percent-encoded), without the fragment, which is never sent. User info (`user:pass@`) is
 * refused: credentials in a list file would end up in Redis, logs and output rows.
 *
 * Roots (producer/input-roots.ts, worker/authorize-shard.ts): every host of one scheme is one
 * group, and a host is the first segment below it, so a list of images on one host gets that
 * host's deepest common folder as its root (`https://cdn.example/images/`), and a list spanning
 * hosts, as web-scraped lists do, gets the scheme's wildcard root, whose host is `*`: any host
 * over https. The root then still keeps a forged job from reading files or buckets; what keeps it off
 * private networks is the address check every fetch makes (http-connector.ts), not the root.
 */
export interface HttpLocation {
  scheme: 'http' | 'https';
  /** Lower-case host with its port when not the default ('cdn.example', '127.0.0.1:8080'); '*' is any host. */
  host: string;
  /** The path and query as sent, starting with '/'. */
  path: string;
}

/** The host of a wildcard root: every host of the scheme. */
const WILDCARD = '*';

export function parseHttpUri(input: string, scheme: 'http' | 'https'): HttpLocation {
  if (input.toLowerCase() === `${scheme}://${WILDCARD}/`) return { scheme, host: WILDCARD, path: '/' };
  let url: URL;
  try {
    url = new URL(input);
  } catch (cause) {
    throw new ConfigError(`'${input}' is not a valid URL; expected ${scheme}://host/path`, { cause });
  }
  if (url.protocol !== `${scheme}:`) throw new ConfigError(`'${input}' is not an ${scheme}:// URL`);
  if (url.username !== '' || url.password !== '') {
    throw new ConfigError(
      `'${url.protocol}//${url.host}${url.pathname}' carries a user name or password; credentials in URLs end up in Redis, logs and output rows, so serve the images without them (or allow the host by address)`,
    );
  }
  if (url.hostname === '') throw new ConfigError(`'${input}' has no host; expected ${scheme}://host/path`);
  return { scheme, host: url.host, path: `${url.pathname}${url.search}` };
}

export function formatHttpUri(location: HttpLocation): string {
  return `${location.scheme}://${location.host}${location.path}`;
}

/** The folder part of a path ('/a/b/c.jpg?x' -> ['a', 'b']). */
function folderSegments(path: string): string[] {
  const withoutQuery = path.split('?')[0] ?? '/';
  return withoutQuery.split('/').slice(1, -1);
}

/** The URI syntax of one of the two web schemes (http-store.ts adds how to open one). */
export function httpUriSyntax(scheme: 'http' | 'https'): Omit<StoreScheme<HttpLocation>, 'open'> {
  return {
    scheme,
    example: `${scheme}://host/path`,
    local: false,
    namesTellFormat: false,
    parse: (input) => parseHttpUri(input, scheme),
    format: formatHttpUri,
    relativeKeyWithin(root, target) {
      if (root.scheme !== target.scheme) return null;
      if (root.host === WILDCARD) return `${target.host}${target.path}`;
      if (root.host !== target.host) return null;
      // Compared on the path as sent: a '..' that the server would resolve is not inside the root.
      if (
        target.path
          .split('?')[0]
          ?.split('/')
          .some((segment) => segment === '..' || segment === '.')
      )
        return null;
      const folder = root.path.endsWith('/') ? root.path : `${root.path}/`;
      if (target.path === root.path || target.path === folder) return '';
      return target.path.startsWith(folder) ? target.path.slice(folder.length) : null;
    },
    join: (prefix, key) => ({
      ...prefix,
      path: `${prefix.path.endsWith('/') ? prefix.path : `${prefix.path}/`}${key}`,
    }),
    resolve(base, reference) {
      const url = new URL(reference, formatHttpUri(base));
      return parseHttpUri(url.href.split('#')[0] ?? url.href, scheme);
    },
    rootFolder: (location) => ({
      group: `${scheme}://`,
      segments: [location.host, ...folderSegments(location.path)],
      minSegments: 0,
    }),
    folderAt: (_sample, segments) =>
      segments.length === 0
        ? { scheme, host: WILDCARD, path: '/' }
        : {
            scheme,
            host: segments[0]!,
            path: `/${segments
              .slice(1)
              .map((segment) => `${segment}/`)
              .join('')}`,
          },
    writeHint: () => 'http(s) URLs are read only; write the output to s3:// or a local folder',
  };
}
