import { type ChildProcess, spawn } from 'node:child_process';

/**
 * A server process owned by a test: started, awaited until it says it is ready, and stopped with
 * a bounded wait. Every live child is SIGKILLed when the test process exits, so a test that
 * fails before its cleanup still leaves no server behind.
 */
export interface ServerProcess {
  readonly child: ChildProcess;
  /** Resolves with the exit code (or the signal's name) once the process has exited. */
  readonly exited: Promise<number | string>;
  /** Everything it printed so far (stdout and stderr), for error messages. */
  output(): string;
  /** Sends `signal` and waits for the exit; after `timeoutMs` (default 5000) sends SIGKILL. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<void>;
}

export interface StartOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** A line matching this means the server is ready. */
  ready: RegExp;
  /** Milliseconds to wait for `ready`. Default 15000 (the machine is shared and slow at times). */
  timeoutMs?: number;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Spawns and resolves with the process and the `ready` match; rejects with its output if it exits or times out first. */
export async function startServerProcess(
  command: string,
  args: string[],
  options: StartOptions,
): Promise<{ server: ServerProcess; match: RegExpMatchArray }> {
  installExitHook();
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let text = '';
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve(code ?? signal ?? 'unknown');
    });
  });
  const server: ServerProcess = {
    child,
    exited,
    output: () => text,
    stop: (signal, timeoutMs) => stopChild(child, exited, signal, timeoutMs),
  };
  const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
    const timer = setTimeout(
      () => fail(`did not print ${options.ready} within ${options.timeoutMs ?? 15_000} ms`),
      options.timeoutMs ?? 15_000,
    );
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      const found = options.ready.exec(text);
      if (found !== null) {
        clearTimeout(timer);
        resolve(found);
      }
    };
    function fail(why: string) {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} ${why}; output:\n${text}`));
    }
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('error', (error) => fail(`could not start (${error.message})`));
    void exited.then((status) => fail(`exited (${status}) before it was ready`));
  });
  return { server, match };
}

async function stopChild(
  child: ChildProcess,
  exited: Promise<unknown>,
  signal: NodeJS.Signals = 'SIGTERM',
  timeoutMs = 5_000,
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}
