import type { QueuePair } from './setup.js';

/** How long close() waits, in all, for posted sends to complete and for the peer's disconnect. */
const CLOSE_GRACE_MS = 1000;

/**
 * The end of a connection's queue pair, once it failed or closed: sends what is queued for the peer, waits
 * (within CLOSE_GRACE_MS in all) for the sends to complete and for the disconnect, then destroys the endpoint
 * and has the parts free what they hold.
 */
export class Teardown {
  private closing: Promise<void> | undefined;
  private onDisconnected: (() => void) | undefined;
  private isDestroyed = false;

  /** `release`: frees what the parts hold (registrations, grants), once the endpoint is gone. */
  constructor(
    private readonly link: Pick<QueuePair, 'endpoint' | 'work' | 'connected' | 'disconnected'>,
    private readonly release: () => void,
  ) {}

  /** Whether the endpoint is destroyed: nothing may be posted any more. */
  get destroyed(): boolean {
    return this.isDestroyed;
  }

  /** Settles once the teardown is over; undefined before it started. */
  get done(): Promise<void> | undefined {
    return this.closing;
  }

  /** The peer's disconnect arrived. */
  disconnected(): void {
    this.onDisconnected?.();
  }

  /** Starts the teardown, once. */
  start(): void {
    this.closing ??= this.run();
  }

  private async run(): Promise<void> {
    const { link } = this;
    const deadline = performance.now() + CLOSE_GRACE_MS;
    const work = link.work;
    if (work && link.connected) {
      await this.until(deadline, (resolve) => work.onIdle(resolve));
      if (!link.disconnected) {
        link.endpoint.disconnect();
        await this.until(deadline, (resolve) => {
          this.onDisconnected = resolve;
        });
      }
    }
    link.endpoint.destroy();
    this.isDestroyed = true;
    work?.flush();
    this.release();
  }

  /** Waits for `wait` to call back, or until `deadline` (performance.now()), whichever comes first. */
  private until(deadline: number, wait: (resolve: () => void) => void): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, deadline - performance.now()));
      wait(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
