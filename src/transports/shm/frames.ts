import { streamFrameRules } from '../../core/stream/stream-frames.js';

/** The frames the shared-memory rings carry: those of every byte stream. */
export const SHM_FRAMES = streamFrameRules('shared memory');
