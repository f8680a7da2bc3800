import { defineMessages } from './catalog.js';

/** The web chat page's own chrome (the conversation itself comes from the dialog). */
export const webchat = defineMessages(
  {
    title: '邻里 · 社区服务',
    placeholder: '输入消息…',
    send: '发送',
    shareLocation: '发送我的位置',
    photo: '图片',
    offline: '连接中断，正在重试…',
    locationDenied: '无法获取位置，请在浏览器中允许定位，或直接输入地址。',
    uploadFailed: '图片上传失败（仅支持 JPG/PNG/WebP，最大 10 MB）。',
    tooLong: (p: { max: number }) => `消息太长（最多 ${p.max} 字），请分几次发送。内容还在输入框里。`,
    myPhoto: '我发送的照片',
  },
  {
    title: '린리 · 커뮤니티 서비스',
    placeholder: '메시지 입력…',
    send: '보내기',
    shareLocation: '내 위치 보내기',
    photo: '사진',
    offline: '연결이 끊겼습니다. 다시 시도 중…',
    locationDenied: '위치를 가져올 수 없습니다. 브라우저에서 위치 권한을 허용하거나 주소를 입력해 주세요.',
    uploadFailed: '사진 업로드 실패(JPG/PNG/WebP, 최대 10MB).',
    tooLong: (p: { max: number }) => `메시지가 너무 깁니다(최대 ${p.max}자). 나누어 보내 주세요. 내용은 입력창에 남아 있습니다.`,
    myPhoto: '내가 보낸 사진',
  },
  {
    title: 'linli · community service',
    placeholder: 'Type a message…',
    send: 'Send',
    shareLocation: 'Send my location',
    photo: 'Photo',
    offline: 'Connection lost, retrying…',
    locationDenied: 'Could not get your location. Allow location in the browser, or type the address.',
    uploadFailed: 'Photo upload failed (JPG/PNG/WebP only, up to 10 MB).',
    tooLong: (p: { max: number }) => `That message is too long (at most ${p.max} characters); please send it in parts. It is still in the box.`,
    myPhoto: 'Photo I sent',
  },
);
