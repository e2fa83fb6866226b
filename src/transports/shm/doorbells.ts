import type { ShmNative } from './native.js';

/**
 * A connection's two eventfd doorbells: its own, watched on the event loop (a ring means the peer published
 * bytes or gave room back while this side slept), and the peer's, rung only when the peer said it sleeps.
 */
export class Doorbells {
  private readonly watcher: { close(): void };
  private closed = false;

  constructor(
    private readonly native: ShmNative,
    private readonly own: number,
    private readonly peer: number,
    onRing: () => void,
  ) {
    this.watcher = new native.DescriptorWatcher(own, () => {
      if (this.closed) return;
      native.eventfdDrain(own);
      onRing();
    });
  }

  ringPeer(): void {
    if (!this.closed) this.native.eventfdSignal(this.peer);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.watcher.close();
    this.native.closeDescriptor(this.own);
    this.native.closeDescriptor(this.peer);
  }
}
