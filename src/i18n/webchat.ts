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
    photoNotNow: '现在不需要图片。报事时在“上传图片”这一步再发送。',
    refused: '这条消息无法接收，请换一种方式再试。',
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
    photoNotNow: '지금은 사진이 필요하지 않습니다. 신고할 때 사진 단계에서 보내 주세요.',
    refused: '이 메시지는 받을 수 없습니다. 다른 방법으로 다시 시도해 주세요.',
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
    photoNotNow: 'No photo is needed right now. Send it at the photo step of a report.',
    refused: 'This message could not be accepted. Please try another way.',
  },
);
