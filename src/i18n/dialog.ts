import { defineMessages } from './catalog.js';

/** The dialog engine's own words: menu, help, input problems. */
export const dialog = defineMessages(
  {
    menuTitle: '主菜单：请选择要办理的事项。',
    help: (p: { menu: string }) =>
      `您可以随时发送：\n· “菜单” 回到主菜单\n· “返回” 回到上一步\n· “取消” 放弃当前操作\n· “语言” 切换语言\n· “/mydata” 查看或删除我的数据\n\n${p.menu}`,
    tooLong: (p: { max: number }) => `消息太长了（最多 ${p.max} 个字），请分几次发送或精简内容。`,
    binary: '这条消息里有无法识别的字符，请只发送文字。',
    empty: '没有收到内容。请发送文字，或发送“菜单”。',
    unsupported: (p: { what: string }) => `暂时不能处理这类消息（${p.what}）。请发送文字、图片或位置，或发送“菜单”。`,
    numberOutOfRange: (p: { max: number }) => `请回复 1 到 ${p.max} 之间的数字。`,
    noChoices: '现在没有可选的编号。发送“菜单”查看可以办理的事项。',
    notUnderstood: '没有理解您的意思。请从下面的选项中选择，或发送“菜单”“帮助”。',
    cancelled: '已取消。',
    back: '返回上一步。',
  },
  {
    menuTitle: '메인 메뉴: 원하시는 항목을 선택하세요.',
    help: (p: { menu: string }) =>
      `언제든지 다음을 보낼 수 있습니다:\n· "메뉴" 메인 메뉴\n· "뒤로" 이전 단계\n· "취소" 현재 작업 취소\n· "언어" 언어 변경\n· "/mydata" 내 정보 보기·삭제\n\n${p.menu}`,
    tooLong: (p: { max: number }) => `메시지가 너무 깁니다(최대 ${p.max}자). 나누어 보내거나 줄여 주세요.`,
    binary: '인식할 수 없는 문자가 있습니다. 텍스트만 보내 주세요.',
    empty: '내용이 없습니다. 텍스트를 보내거나 "메뉴"를 보내 주세요.',
    unsupported: (p: { what: string }) => `이 종류의 메시지(${p.what})는 아직 처리할 수 없습니다. 텍스트, 사진, 위치를 보내거나 "메뉴"를 보내 주세요.`,
    numberOutOfRange: (p: { max: number }) => `1부터 ${p.max} 사이의 번호를 입력해 주세요.`,
    noChoices: '지금은 선택할 번호가 없습니다. "메뉴"를 보내 할 수 있는 일을 확인하세요.',
    notUnderstood: '이해하지 못했습니다. 아래에서 선택하거나 "메뉴", "도움말"을 보내 주세요.',
    cancelled: '취소했습니다.',
    back: '이전 단계로 돌아갑니다.',
  },
  {
    menuTitle: 'Main menu: what would you like to do?',
    help: (p: { menu: string }) =>
      `You can send at any time:\n· "menu" for the main menu\n· "back" for the previous step\n· "cancel" to stop what you are doing\n· "language" to switch language\n· "/mydata" to see or delete your data\n\n${p.menu}`,
    tooLong: (p: { max: number }) => `That message is too long (at most ${p.max} characters). Please split or shorten it.`,
    binary: 'That message contains characters we cannot read. Please send plain text.',
    empty: 'Nothing arrived. Send some text, or "menu".',
    unsupported: (p: { what: string }) => `We can't handle this kind of message (${p.what}) yet. Send text, a photo or a location, or "menu".`,
    numberOutOfRange: (p: { max: number }) => `Please reply with a number from 1 to ${p.max}.`,
    noChoices: 'There is nothing to pick by number right now. Send "menu" to see what you can do.',
    notUnderstood: "Sorry, I didn't get that. Pick one of the options below, or send \"menu\" or \"help\".",
    cancelled: 'Cancelled.',
    back: 'Back to the previous step.',
  },
);
