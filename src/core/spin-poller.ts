import type { PollMode } from '../api/options.js';

/** Polls a transport once for up to `micros` µs, handling what arrived; false once polling cannot go on. */
type PollOnce = (micros: number) => boolean;

/**
 * The 'spin' and 'hybrid' poll modes. While the application awaits something from the peer (a message, a
 * one-sided operation's completion), the connection reads its socket or completion queue itself instead of
 * sleeping in the event loop until the kernel wakes it: the wake-up is most of a small round trip.
 * 'hybrid' polls for up to spinMicros, then sleeps on the loop; 'spin' polls in slices of spinMicros, letting
 * the loop run its other work between slices, for as long as something is awaited.
 */
export class SpinPoller {
  private polling = false;
  private resumeScheduled = false;

  constructor(
    private readonly mode: Exclude<PollMode, 'event'>,
    private readonly micros: number,
    private readonly pollOnce: PollOnce,
    /** Whether the application still awaits something from the peer. */
    private readonly awaited: () => boolean,
  ) {}

  /** Something is now awaited: poll for it. */
  kick(): void {
    if (this.polling || this.micros === 0) return;
    this.polling = true;
    let open = true;
    try {
      const start = performance.now();
      let left = this.micros;
      while (open && this.awaited()) {
        open = this.pollOnce(left);
        // The clock is read again only when polling goes on: most polls end with what was awaited.
        if (!open || !this.awaited()) break;
        left = this.micros - (performance.now() - start) * 1000;
        if (left <= 0) break;
      }
    } finally {
      this.polling = false;
    }
    if (open && this.mode === 'spin' && !this.resumeScheduled && this.awaited()) {
      this.resumeScheduled = true;
      setImmediate(() => {
        this.resumeScheduled = false;
        this.kick();
      });
    }
  }
}
