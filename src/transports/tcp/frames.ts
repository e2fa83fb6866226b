import { FrameRules, FrameType, SHARED_FRAME_FIELDS } from '../../protocol/frame.js';

/** The frames TCP carries (docs/PROTOCOL.md, "Frame types"): messages with credit, and emulated one-sided operations. */
export const TCP_FRAMES = new FrameRules('TCP', {
  ...SHARED_FRAME_FIELDS,
  [FrameType.Message]: ['aux'],
  [FrameType.Credit]: ['aux'],
  [FrameType.Write]: ['id', 'key', 'offset'],
  [FrameType.WriteAck]: ['id'],
  [FrameType.ReadRequest]: ['id', 'aux', 'key', 'offset'],
  [FrameType.ReadResponse]: ['id'],
});
