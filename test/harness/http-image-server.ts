import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A real HTTP server on loopback for tests of web inputs: each path answers as its route says
 * (an image, a status, a redirect, a stall), and every request is recorded, so a test can assert
 * that a refused URL never reached the server at all. Always call stop().
 */
export interface HttpImageServer {
  /** http://127.0.0.1:<port> */
  readonly origin: string;
  readonly port: number;
  /** `127.0.0.1:<port>`, the HTTP_ALLOWED_HOSTS entry that lets workers reach it. */
  readonly hostPort: string;
  /** Every request received, in order. */
  readonly requests: Array<{ path: string; userAgent: string | undefined }>;
  /** TCP connections accepted (a refused URL must open none). */
  readonly connections: number;
  /** The most requests that were in progress at once. */
  readonly maxConcurrent: number;
  route(path: string, handler: Route): void;
  stop(): Promise<void>;
}

export type Route = (request: IncomingMessage, response: ServerResponse) => void | Promise<void>;

export async function startHttpImageServer(routes: Record<string, Route> = {}): Promise<HttpImageServer> {
  const table = new Map(Object.entries(routes));
  const requests: HttpImageServer['requests'] = [];
  let connections = 0;
  let active = 0;
  let maxConcurrent = 0;
  const server = createServer((request, response) => {
    requests.push({ path: request.url ?? '', userAgent: request.headers['user-agent'] });
    active += 1;
    maxConcurrent = Math.max(maxConcurrent, active);
    response.on('close', () => {
      active -= 1;
    });
    const handler = table.get((request.url ?? '').split('?')[0] ?? '');
    if (handler === undefined) {
      response.writeHead(404).end('not found');
      return;
    }
    void Promise.resolve(handler(request, response)).catch(() => response.destroy());
  });
  server.on('connection', (socket) => {
    connections += 1;
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    hostPort: `127.0.0.1:${port}`,
    requests,
    get connections() {
      return connections;
    },
    get maxConcurrent() {
      return maxConcurrent;
    },
    route: (path, handler) => void table.set(path, handler),
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A route answering 200 with `body` and the given headers. */
export function serve(body: Buffer | string, headers: Record<string, string> = {}): Route {
  return (_request, response) => {
    response.writeHead(200, { 'content-type': 'image/png', ...headers }).end(body);
  };
}

/** A route that sends headers and then nothing, until the client gives up. */
export function stall(): Route {
  return (_request, response) => {
    response.writeHead(200, { 'content-type': 'image/jpeg' });
    response.write(Buffer.alloc(10));
  };
}
