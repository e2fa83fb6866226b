import { streamFrameRules } from '../../core/stream/stream-frames.js';

/** The frames the shared-memory rings carry: those of every byte stream, and one-sided operations by reference. */
export const SHM_FRAMES = streamFrameRules('shared memory', true);
