/**
 * When to restart a language server that died: up to ``limit`` restarts within a sliding
 * window, then stop and say why (a server that crashes on start would otherwise restart
 * forever). Pure: the clock is injected, so the unit tests drive it.
 */

export interface RestartDecision {
  restart: boolean;
  message: string;
}

export class RestartPolicy {
  private crashes: number[] = [];

  constructor(
    private readonly limit: number,
    private readonly windowMs = 3 * 60 * 1000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The server's connection closed unexpectedly: restart it or give up. */
  crashed(): RestartDecision {
    const t = this.now();
    this.crashes = [...this.crashes.filter((c) => t - c < this.windowMs), t];
    const n = this.crashes.length;
    const minutes = Math.round(this.windowMs / 60000);
    if (n <= this.limit) {
      return { restart: true, message: `PerfOrch server stopped unexpectedly; restarting (${n} of ${this.limit} in ${minutes} min)` };
    }
    return {
      restart: false,
      message:
        `PerfOrch server crashed ${n} times in ${minutes} min and was not restarted. ` +
        "See the PerfOrch output for its last words, then run “PerfOrch: Restart Server”.",
    };
  }

  /** A manual restart starts the count afresh. */
  reset(): void {
    this.crashes = [];
  }
}
