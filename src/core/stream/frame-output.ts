import type { HeaderFields } from '../../protocol/frame.js';

/** Called once a frame is out of this side's hands, or with why it never will be. */
export type WriteDone = (error?: Error | null) => void;

/** Where the parts of a stream connection put their frames: in order, behind every frame before. */
export interface FrameOutput {
  writeFrame(header: HeaderFields, parts: readonly Uint8Array[], done?: WriteDone): void;
}
