import { defineMessages } from './catalog.js';

/** /mydata: what we hold, and erasure. */
export const privacy = defineMessages(
  {
    summary: (p: { locale: string; channels: string; household: string; consent: string; phone: string; staff: string; cases: number }) =>
      `我们保存的您的数据：\n· 语言：${p.locale}\n· 聊天账号：${p.channels}\n· 住户：${p.household}\n· 同意隐私说明：${p.consent}\n· 电话：${p.phone}\n· 工作人员身份：${p.staff}\n· 您提交的诉求：${p.cases} 件`,
    none: '无',
    pending: '（待确认）',
    menu: '我的数据',
    delete: '删除我的数据',
    keep: '保留，返回菜单',
    confirmDelete: '确定删除吗？您的住户绑定、同意记录和聊天账号将被删除；已提交的诉求会匿名保留以便办结。此操作不可撤销。',
    confirmYes: '确定删除',
    deleted: '您的数据已删除。如需再次使用，请发送任意消息重新开始。',
  },
  {
    summary: (p: { locale: string; channels: string; household: string; consent: string; phone: string; staff: string; cases: number }) =>
      `보관 중인 내 정보:\n· 언어: ${p.locale}\n· 채팅 계정: ${p.channels}\n· 세대: ${p.household}\n· 개인정보 동의: ${p.consent}\n· 전화: ${p.phone}\n· 직원 신분: ${p.staff}\n· 접수한 민원: ${p.cases}건`,
    none: '없음',
    pending: '(확인 대기)',
    menu: '내 정보',
    delete: '내 정보 삭제',
    keep: '유지하고 메뉴로',
    confirmDelete: '정말 삭제할까요? 세대 등록, 동의 기록, 채팅 계정이 삭제되고 접수한 민원은 처리를 위해 익명으로 남습니다. 되돌릴 수 없습니다.',
    confirmYes: '삭제',
    deleted: '정보를 삭제했습니다. 다시 이용하려면 아무 메시지나 보내 주세요.',
  },
  {
    summary: (p: { locale: string; channels: string; household: string; consent: string; phone: string; staff: string; cases: number }) =>
      `What we hold about you:\n· Language: ${p.locale}\n· Chat accounts: ${p.channels}\n· Household: ${p.household}\n· Privacy consent: ${p.consent}\n· Phone: ${p.phone}\n· Staff role: ${p.staff}\n· Cases you reported: ${p.cases}`,
    none: 'none',
    pending: '(awaiting confirmation)',
    menu: 'My data',
    delete: 'Delete my data',
    keep: 'Keep it, back to menu',
    confirmDelete: 'Delete everything? Your household binding, consent and chat accounts are removed; cases you reported stay, anonymised, so they can be finished. This cannot be undone.',
    confirmYes: 'Yes, delete',
    deleted: 'Your data is deleted. Send any message to start again.',
  },
);
