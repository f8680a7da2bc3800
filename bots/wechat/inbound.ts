import type { InboundEvent } from '../../src/dialog/events.js';

/** The parts of a wechaty message we read (kept narrow so the mapping is testable and typed). */
export interface WechatMessageLike {
  id: string;
  type: number;
  text: string;
  talkerId: string;
  inRoom: boolean;
  location?: { latitude: number; longitude: number; name?: string; address?: string };
}

/** wechaty's MessageType numbers (wechaty-puppet types.Message). */
export const WECHAT_TYPES = { Text: 7, Image: 6, Location: 8, Audio: 2, Video: 15, Emoticon: 5, Attachment: 1 } as const;

/** A private WeChat message → InboundEvent; the WeChat message id is the duplicate key. */
export function toInboundEvent(m: WechatMessageLike): InboundEvent | undefined {
  if (m.inRoom) return undefined;
  const base = { channel: 'wechat' as const, userRef: m.talkerId, chatRef: m.talkerId, messageRef: m.id };
  switch (m.type) {
    case WECHAT_TYPES.Text:
      return { ...base, kind: 'text', text: m.text };
    case WECHAT_TYPES.Image:
      return { ...base, kind: 'photo', photo: { fileRef: `wx:${m.id}` } };
    case WECHAT_TYPES.Location:
      if (!m.location) return { ...base, kind: 'unsupported', what: 'location' };
      return {
        ...base,
        kind: 'location',
        location: { lat: m.location.latitude, lng: m.location.longitude, label: (m.location.address || m.location.name)?.slice(0, 300) },
      };
    case WECHAT_TYPES.Audio:
      return { ...base, kind: 'unsupported', what: 'voice' };
    case WECHAT_TYPES.Video:
      return { ...base, kind: 'unsupported', what: 'video' };
    case WECHAT_TYPES.Emoticon:
      return { ...base, kind: 'unsupported', what: 'sticker' };
    default:
      return { ...base, kind: 'unsupported', what: 'message' };
  }
}
