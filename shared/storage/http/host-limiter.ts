/**
 * At most `limit` requests at once per host, in arrival order: a shard of 256 images from one
 * site must not open 64 connections to it (the worker reads 2 x batch size images ahead), which
 * is rude and gets a crawler throttled or banned. The wait for a slot is not part of a request's
 * timeout (http-fetch.ts starts the clock once the slot is held), so a busy host slows its own
 * images down without turning them into TIMEOUT rows. Per process: each worker keeps its own.
 */
export class HostLimiter {
  private readonly hosts = new Map<string, { active: number; waiting: Array<() => void> }>();

  constructor(private readonly limit: number) {}

  /** Runs `task` once `host` has a free slot, and frees the slot when it settles. */
  async run<T>(host: string, task: () => Promise<T>): Promise<T> {
    let entry = this.hosts.get(host);
    if (entry === undefined) {
      entry = { active: 0, waiting: [] };
      this.hosts.set(host, entry);
    }
    if (entry.active >= this.limit) await new Promise<void>((resolve) => entry.waiting.push(resolve));
    else entry.active += 1;
    try {
      return await task();
    } finally {
      const next = entry.waiting.shift();
      // The slot passes straight to the next waiter; the count drops only when nobody waits.
      if (next !== undefined) next();
      else {
        entry.active -= 1;
        if (entry.active === 0) this.hosts.delete(host);
      }
    }
  }
}
