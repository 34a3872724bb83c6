import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A fault-injecting HTTP proxy for an S3-protocol server, on 127.0.0.1: point S3_ENDPOINT at
 * `url` and every request passes through it to `target` unchanged (same method, path and
 * headers, Host included, so SigV4 signatures still verify), unless the plan says otherwise.
 *
 * Written here rather than taken from npm: the faults S3 clients meet (5xx answers, a connection
 * reset halfway through a body, an answer that comes after the client gave up) take a few lines
 * each on node:http, and a generic chaos proxy (toxiproxy) is a separate Go server.
 */
export type Fault =
  /** Forward as is. */
  | { kind: 'pass' }
  /** Answer this status with an S3-style XML error, without asking the server. */
  | { kind: 'status'; status: 500 | 503 }
  /** Forward, send the server's headers and half its body, then destroy the client socket. */
  | { kind: 'reset' }
  /** Wait `ms` before forwarding (longer than the client's request timeout, so it gives up first). */
  | { kind: 'delay'; ms: number };

/** Decides the fault of each request; `n` counts requests from 1. */
export type FaultPlan = (n: number, request: { method: string; path: string }) => Fault;

export interface FaultProxy {
  /** http://127.0.0.1:port */
  readonly url: string;
  /** Replaces the plan; the default plan passes everything. */
  setPlan(plan: FaultPlan): void;
  /** Requests seen so far, and how many got each fault kind ('status-500', 'status-503', 'reset', 'delay', 'pass'). */
  counts(): Readonly<Record<string, number>>;
  /** Every request seen so far, in order: method, path and the fault it got. */
  log(): ReadonlyArray<{ method: string; path: string; fault: string }>;
  close(): Promise<void>;
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  let plan: FaultPlan = () => ({ kind: 'pass' });
  let seen = 0;
  const tally: Record<string, number> = {};
  const entries: Array<{ method: string; path: string; fault: string }> = [];
  const sockets = new Set<Socket>();

  const server: Server = createServer((req, res) => {
    seen += 1;
    const info = { method: req.method ?? 'GET', path: req.url ?? '/' };
    const fault = plan(seen, info);
    const name = fault.kind === 'status' ? `status-${fault.status}` : fault.kind;
    tally[name] = (tally[name] ?? 0) + 1;
    entries.push({ ...info, fault: name });
    if (fault.kind === 'status') return answerError(req, res, fault.status);
    if (fault.kind === 'delay') {
      const timer = setTimeout(() => forward(req, res, upstream, false), fault.ms);
      res.once('close', () => clearTimeout(timer));
      return;
    }
    forward(req, res, upstream, fault.kind === 'reset');
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    setPlan: (next) => {
      plan = next;
    },
    counts: () => ({ requests: seen, ...tally }),
    log: () => entries,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function answerError(req: IncomingMessage, res: ServerResponse, status: 500 | 503): void {
  req.resume();
  const code = status === 503 ? 'SlowDown' : 'InternalError';
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>injected by the fault proxy</Message></Error>`;
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function forward(req: IncomingMessage, res: ServerResponse, upstream: URL, reset: boolean): void {
  const outgoing = httpRequest(
    { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
    (answer) => {
      if (!reset) {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        return;
      }
      const chunks: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => chunks.push(chunk));
      answer.on('end', () => {
        const body = Buffer.concat(chunks);
        // An empty answer (a PUT's 200) dies before its headers, or the client would have it all.
        if (body.length < 2) return void res.socket?.destroy();
        // Otherwise the headers and half the body reach the client, then the connection dies.
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.socket?.destroy());
      });
    },
  );
  outgoing.on('error', () => res.socket?.destroy());
  req.pipe(outgoing);
}
