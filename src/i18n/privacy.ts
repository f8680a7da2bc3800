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
    confirmDelete:
      '确定删除吗？您的住户绑定、电话、聊天记录、其他聊天账号和关注的诉求将被删除。已提交的诉求只保留编号、类别、办理经过和照片，不再关联到您，描述和评价文字会被抹去——社区需要这些记录来办结和统计工作。同意记录只保留撤回的时间，作为我们依法处理的凭证。此操作不可撤销。',
    redacted: '（应本人要求已删除）',
    confirmYes: '确定删除',
    deleted: '您的数据已删除，本次会话已结束。如需再次使用，请发送任意消息重新开始。',
  },
  {
    summary: (p: { locale: string; channels: string; household: string; consent: string; phone: string; staff: string; cases: number }) =>
      `보관 중인 내 정보:\n· 언어: ${p.locale}\n· 채팅 계정: ${p.channels}\n· 세대: ${p.household}\n· 개인정보 동의: ${p.consent}\n· 전화: ${p.phone}\n· 직원 신분: ${p.staff}\n· 접수한 민원: ${p.cases}건`,
    none: '없음',
    pending: '(확인 대기)',
    menu: '내 정보',
    delete: '내 정보 삭제',
    keep: '유지하고 메뉴로',
    confirmDelete:
      '정말 삭제할까요? 세대 등록, 전화번호, 대화 기록, 다른 채팅 계정, 팔로우한 민원이 삭제됩니다. 접수한 민원은 번호, 유형, 처리 경과, 사진만 남고 더 이상 회원님과 연결되지 않으며 설명과 평가 글은 지워집니다. 주민센터가 민원을 마무리하고 통계를 내기 위해 필요합니다. 동의 기록은 철회 시각만 법적 근거로 남습니다. 되돌릴 수 없습니다.',
    redacted: '(본인 요청으로 삭제됨)',
    confirmYes: '삭제',
    deleted: '정보를 삭제했고 이 대화도 종료했습니다. 다시 이용하려면 아무 메시지나 보내 주세요.',
  },
  {
    summary: (p: { locale: string; channels: string; household: string; consent: string; phone: string; staff: string; cases: number }) =>
      `What we hold about you:\n· Language: ${p.locale}\n· Chat accounts: ${p.channels}\n· Household: ${p.household}\n· Privacy consent: ${p.consent}\n· Phone: ${p.phone}\n· Staff role: ${p.staff}\n· Cases you reported: ${p.cases}`,
    none: 'none',
    pending: '(awaiting confirmation)',
    menu: 'My data',
    delete: 'Delete my data',
    keep: 'Keep it, back to menu',
    confirmDelete:
      'Delete everything? Your household binding, phone, conversation, other chat accounts and the cases you follow are removed. Cases you reported keep only their number, category, progress and photos, no longer linked to you, with their description and rating text wiped: the community needs them to finish the work and for its statistics. Your consent record keeps only when you withdrew it, as our legal basis. This cannot be undone.',
    redacted: '(deleted at the person’s request)',
    confirmYes: 'Yes, delete',
    deleted: 'Your data is deleted and this conversation is ended. Send any message to start again.',
  },
);
