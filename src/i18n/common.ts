import { defineMessages } from './catalog.js';

/** Text shared by every channel: numbered-reply hint, generic errors. */
export const common = defineMessages(
  {
    numberedHint: '回复数字选择',
    apology: '抱歉，系统出了点问题，我们已记录。请稍后再试，或发送“菜单”。',
    photosSkipped: (p: { n: number }) => `（有 ${p.n} 张图片无法发送到此聊天）`,
    notStored: '抱歉，系统暂时无法保存您刚才发的消息，它没有被记录。请稍后再发一次。',
  },
  {
    numberedHint: '번호를 입력해 선택하세요',
    apology: '죄송합니다. 시스템에 문제가 생겨 기록해 두었습니다. 잠시 후 다시 시도하거나 "메뉴"를 보내 주세요.',
    photosSkipped: (p: { n: number }) => `(사진 ${p.n}장을 이 채팅으로 보낼 수 없었습니다)`,
    notStored: '죄송합니다. 방금 보내신 메시지를 지금 저장할 수 없어 기록되지 않았습니다. 잠시 후 다시 보내 주세요.',
  },
  {
    numberedHint: 'Reply with a number to choose',
    apology: 'Sorry, something went wrong on our side and we logged it. Please try again later, or send "menu".',
    photosSkipped: (p: { n: number }) => `(${p.n} photo(s) could not be sent to this chat)`,
    notStored: 'Sorry, we could not save the message you just sent, so it was not recorded. Please send it again in a little while.',
  },
);
