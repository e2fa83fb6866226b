import { streamFrameRules } from '../../core/stream/stream-frames.js';

/** The frames TCP carries: those of every byte stream. */
export const TCP_FRAMES = streamFrameRules('TCP');
