import { readdirSync, readFileSync } from 'node:fs';

/**
 * Processes found through /proc by their parent/child relationships (Linux): what the stop tests
 * use to know which processes a command started, and whether any outlived it. By pid and command
 * line, never by name alone (other tests on the machine run their own workers and Redis servers).
 */
export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** The command line, arguments joined by spaces (redis-server rewrites its own to `redis-server host:port`). */
  command: string;
}

function readProcess(pid: number): (ProcessInfo & { state: string }) | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
    const [state = '', ppid = '0'] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    return { pid, ppid: Number(ppid), command, state };
  } catch {
    return undefined; // gone between the listing and the read
  }
}

/** Every process `root` started, directly or not, that is still a descendant of it now. */
export function descendantsOf(root: number): ProcessInfo[] {
  const all = readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map((name) => readProcess(Number(name)))
    .filter((info): info is ProcessInfo & { state: string } => info !== undefined);
  const found: ProcessInfo[] = [];
  const frontier = [root];
  while (frontier.length > 0) {
    const parent = frontier.pop()!;
    for (const info of all) {
      if (info.ppid !== parent) continue;
      found.push({ pid: info.pid, ppid: info.ppid, command: info.command });
      frontier.push(info.pid);
    }
  }
  return found;
}

/** Whether `info`'s process still runs: it exists, is not a zombie, and has the same command line (no pid reuse). */
export function stillRunning(info: ProcessInfo): boolean {
  const now = readProcess(info.pid);
  return now !== undefined && now.state !== 'Z' && now.command === info.command;
}

/**
 * Polls until none of `processes` runs, for at most `withinMs`; returns those still running then.
 * A bound on how long to look, not a timing assertion.
 */
export async function survivorsAfter(processes: readonly ProcessInfo[], withinMs: number): Promise<ProcessInfo[]> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const survivors = processes.filter(stillRunning);
    if (survivors.length === 0 || Date.now() >= deadline) return survivors;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
