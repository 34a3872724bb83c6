import { constants } from 'node:os';

/**
 * How `resnet-batch run` stops on SIGINT (Ctrl-C), SIGTERM (`timeout`, CI runners, supervisors)
 * or SIGHUP (the terminal closed):
 * - the first signal asks its workers to finish their current shards and take no more, then the
 *   embedded Redis stops and `run` exits 128 + the signal's number (130, 143, 129), as a shell
 *   reports a process the signal ended;
 * - a second signal, or STOP_GRACE_MS after the first, gives the shards back at once (their
 *   locks expire; a later `run` or worker redoes them), and `run` exits with the same code.
 */
export const STOP_GRACE_MS = 30_000;

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type StopSignal = (typeof SIGNALS)[number];

/** Thrown out of the run's waits once a stop signal arrived; runCommand turns it into the exit code. */
export class RunInterrupted extends Error {
  constructor(readonly signal: StopSignal) {
    super(`stopped by ${signal}`);
  }
}

export interface RunStopHandlers {
  /** The first signal: finish the current shards. */
  graceful(signal: StopSignal): void;
  /** The second signal, or the grace period over: give the shards back now. */
  force(reason: string): void;
}

export class RunStop {
  signal: StopSignal | undefined;
  /** Resolves with the first signal; never rejects. */
  readonly requested: Promise<StopSignal>;
  private resolveRequested: (signal: StopSignal) => void = () => undefined;
  private forced = false;
  private graceTimer: NodeJS.Timeout | undefined;
  private readonly onSignal = (signal: StopSignal): void => this.receive(signal);

  constructor(private readonly handlers: RunStopHandlers) {
    this.requested = new Promise((resolve) => {
      this.resolveRequested = resolve;
    });
    for (const signal of SIGNALS) process.on(signal, this.onSignal);
  }

  /** The exit code for the signal received: 128 + its number. */
  exitCode(): number {
    return this.signal ? 128 + constants.signals[this.signal] : 0;
  }

  /** Races `work` against a stop signal: RunInterrupted once one arrived. */
  async race<T>(work: Promise<T>): Promise<T> {
    return Promise.race([
      work,
      this.requested.then((signal) => {
        throw new RunInterrupted(signal);
      }),
    ]);
  }

  /** Removes the handlers: a signal after this ends the process the default way. */
  dispose(): void {
    clearTimeout(this.graceTimer);
    for (const signal of SIGNALS) process.off(signal, this.onSignal);
  }

  private receive(signal: StopSignal): void {
    if (this.signal === undefined) {
      this.signal = signal;
      this.resolveRequested(signal);
      this.handlers.graceful(signal);
      this.graceTimer = setTimeout(
        () => this.escalate(`still stopping ${STOP_GRACE_MS / 1000} s after ${signal}`),
        STOP_GRACE_MS,
      );
      this.graceTimer.unref();
      return;
    }
    this.escalate(`second signal (${signal})`);
  }

  private escalate(reason: string): void {
    if (this.forced) return;
    this.forced = true;
    clearTimeout(this.graceTimer);
    this.handlers.force(reason);
  }
}
