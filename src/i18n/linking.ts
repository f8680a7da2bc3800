import { defineMessages } from './catalog.js';

/** 关联账号: using Telegram, WeChat and the web chat as one person. */
export const linking = defineMessages(
  {
    menu: '关联其他聊天账号',
    issued: (p: { code: string; minutes: number }) =>
      `您的关联码：${p.code}\n请在 ${p.minutes} 分钟内，在另一个聊天（Telegram、微信或网页聊天）里发送：\n/link ${p.code}\n关联后，两边是同一个账号，诉求和通知在两边都能看到。关联码只能用一次，请不要告诉别人。`,
    askCode: '请输入在另一个聊天里得到的关联码（例如 L-ABCD-EFGH）。还没有关联码？请在已使用的聊天里发送 /link 获取。',
    invalid: '关联码无效、已使用或已过期。请在已使用的聊天里发送 /link 重新获取。',
    own: '这个关联码就是这个账号的，无需关联。',
    hasOwnData: '这个聊天账号已经有自己的住户、工作人员身份或诉求，不能直接并入另一个账号。如需合并，请先在这里发送 /mydata 删除本账号的数据，或联系社区。',
    linked: (p: { channels: string }) => `关联成功。您现在可以在 ${p.channels} 使用同一个账号。`,
    tooManyAttempts: '尝试次数过多，请一小时后再试。',
    channel_telegram: 'Telegram',
    channel_wechat: '微信',
    channel_web: '网页聊天',
  },
  {
    menu: '다른 채팅 계정 연결',
    issued: (p: { code: string; minutes: number }) =>
      `연결 코드: ${p.code}\n${p.minutes}분 안에 다른 채팅(Telegram, WeChat 또는 웹 채팅)에서 다음을 보내세요:\n/link ${p.code}\n연결하면 양쪽이 같은 계정이 되어 민원과 알림을 어디서나 볼 수 있습니다. 코드는 한 번만 쓸 수 있으니 다른 사람에게 알려 주지 마세요.`,
    askCode: '다른 채팅에서 받은 연결 코드를 입력하세요(예: L-ABCD-EFGH). 코드가 없으면 사용 중인 채팅에서 /link 를 보내 받으세요.',
    invalid: '연결 코드가 잘못되었거나 이미 사용되었거나 만료되었습니다. 사용 중인 채팅에서 /link 를 보내 새 코드를 받으세요.',
    own: '이 계정의 코드입니다. 연결할 필요가 없습니다.',
    hasOwnData: '이 채팅 계정에는 이미 자체 세대, 직원 신분 또는 민원이 있어 다른 계정에 합칠 수 없습니다. 합치려면 먼저 여기서 /mydata 로 이 계정의 정보를 삭제하거나 커뮤니티에 문의하세요.',
    linked: (p: { channels: string }) => `연결되었습니다. 이제 ${p.channels}에서 같은 계정을 사용할 수 있습니다.`,
    tooManyAttempts: '시도 횟수가 너무 많습니다. 한 시간 후에 다시 시도하세요.',
    channel_telegram: 'Telegram',
    channel_wechat: 'WeChat',
    channel_web: '웹 채팅',
  },
  {
    menu: 'Link another chat app',
    issued: (p: { code: string; minutes: number }) =>
      `Your link code: ${p.code}\nWithin ${p.minutes} minutes, send this from your other chat (Telegram, WeChat or the web chat):\n/link ${p.code}\nOnce linked, both are the same account and you see your cases and notices in either. The code works once; don't share it.`,
    askCode: 'Send the link code you got in your other chat (e.g. L-ABCD-EFGH). No code yet? Send /link in the chat you already use.',
    invalid: 'That link code is wrong, used or expired. Send /link in the chat you already use to get a new one.',
    own: 'That code belongs to this account already; nothing to link.',
    hasOwnData: 'This chat account already has its own household, staff role or cases, so it cannot be merged into another account. To merge, first delete this account\'s data here with /mydata, or contact your community.',
    linked: (p: { channels: string }) => `Linked. You can now use the same account on ${p.channels}.`,
    tooManyAttempts: 'Too many attempts. Please try again in an hour.',
    channel_telegram: 'Telegram',
    channel_wechat: 'WeChat',
    channel_web: 'the web chat',
  },
);
