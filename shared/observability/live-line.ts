/**
 * The one live line a process may keep at the bottom of its terminal (the progress bar of `run`,
 * the waiting line of `status --wait`), and the log lines written meanwhile: each log write first
 * erases the live line, so that a log line never lands inside it, and the live line is drawn
 * again below at its next update. Only the main thread's logs pass here (shared/observability/logger.ts); the
 * engine thread logs before any live line is drawn.
 */
let eraseLiveLine: (() => void) | undefined;

/** Registers how to erase the live line now on screen; undefined once it is gone. */
export function setLiveLine(erase: (() => void) | undefined): void {
  eraseLiveLine = erase;
}

/** Called before a log line is written. */
export function clearLiveLine(): void {
  eraseLiveLine?.();
}

/** Erases the current terminal line: back to its first column, then clear to its end. */
export function eraseTerminalLine(stream: NodeJS.WriteStream): () => void {
  return () => {
    stream.write('\r\x1b[K');
  };
}
