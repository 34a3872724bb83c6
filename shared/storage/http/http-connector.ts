import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { buildConnector } from 'undici';
import { ImageError } from '../../errors.ts';
import { blockedRangeOf } from './address-ranges.ts';
import { type HttpConfig, isAllowedHost } from './http-config.ts';
import { undici } from './undici.ts';

/**
 * The SSRF guard, where it cannot be bypassed: inside the connection step of the HTTP client. For
 * every connection (the first request and every redirect hop alike) it resolves the host name
 * itself, checks every address it resolves to (address-ranges.ts), and hands the checked address
 * to the socket, so the name is never resolved a second time by someone else: a DNS answer that
 * changes between the check and the connect (DNS rebinding) cannot slip a private address through.
 * TLS still verifies the certificate against the host name (SNI and the name check use it).
 *
 * A host listed in HTTP_ALLOWED_HOSTS (alone, or as host:port) skips the address check: that is
 * how a test's loopback server, or an image server on the private network, is reached on purpose.
 *
 * Refusals are the image's own error: BLOCKED_ADDRESS naming the host, the address and its range,
 * and no byte is sent to the address. A name that does not resolve is UNREACHABLE.
 */
export function guardedConnector(config: HttpConfig): buildConnector.connector {
  const connect = undici().buildConnector({ timeout: config.connectTimeoutMs });
  return (options, callback) => {
    checkedAddress(options.hostname, Number(options.port) || defaultPort(options.protocol), config).then(
      (address) => {
        const servername = isIP(bare(options.hostname)) === 0 ? bare(options.hostname) : undefined;
        connect({ ...options, hostname: address, ...(servername === undefined ? {} : { servername }) }, callback);
      },
      (error: Error) => callback(error, null),
    );
  };
}

/** The address to connect to for `hostname`, after the checks above; rejects with the image's error. */
export async function checkedAddress(hostname: string, port: number, config: HttpConfig): Promise<string> {
  const host = bare(hostname).toLowerCase();
  const allowed = isAllowedHost(config, isIP(host) === 6 ? `[${host}]` : host, port);
  if (isIP(host) !== 0) {
    if (!allowed) refuseIfBlocked(host, host, port);
    return host;
  }
  const addresses = await resolve(host, config.connectTimeoutMs);
  // Every address is checked, not only the one used: a name that maps to a private address at
  // all is refused, so which address the resolver lists first cannot matter.
  if (!allowed) for (const address of addresses) refuseIfBlocked(host, address, port);
  return addresses[0]!;
}

function refuseIfBlocked(host: string, address: string, port: number): void {
  const range = blockedRangeOf(address);
  if (range === null) return;
  const where = host === address ? address : `${host} (${address})`;
  throw new ImageError(
    'BLOCKED_ADDRESS',
    `${where} is a ${range} address, which web inputs may not reach; add ${host.includes(':') ? `[${host}]` : host}:${port} to HTTP_ALLOWED_HOSTS if this host is meant to be fetched`,
  );
}

async function resolve(host: string, timeoutMs: number): Promise<string[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ImageError('TIMEOUT', `resolving ${host} took over ${timeoutMs} ms (HTTP_CONNECT_TIMEOUT_MS)`)),
      timeoutMs,
    );
  });
  try {
    const answers = await Promise.race([lookup(host, { all: true, verbatim: true }), timeout]);
    if (answers.length === 0) throw Object.assign(new Error(`no address for ${host}`), { code: 'ENOTFOUND' });
    return answers.map((answer) => answer.address);
  } catch (error) {
    if (error instanceof ImageError) throw error;
    const code = (error as { code?: string }).code ?? 'unknown';
    // EAI_AGAIN is the resolver failing for now, not an answer: let the fetch retry it.
    throw new ImageError('UNREACHABLE', `host ${host} does not resolve (${code})`, { cause: error });
  } finally {
    clearTimeout(timer);
  }
}

const bare = (hostname: string) => hostname.replace(/^\[|\]$/g, '');

const defaultPort = (protocol: string) => (protocol === 'https:' ? 443 : 80);
