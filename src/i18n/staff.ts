import { defineMessages } from './catalog.js';

/** A household's record (房屋登记) as the messages show it: floor area (null = none recorded) and 业主. */
type HouseholdFacts = { area: string | null; owner: boolean };
const zh = (f: HouseholdFacts) => `面积 ${f.area === null ? '未登记' : `${f.area} m²`}，业主：${f.owner ? '是' : '否'}`;
const ko = (f: HouseholdFacts) => `면적 ${f.area === null ? '미등록' : `${f.area} m²`}, 소유자(业主): ${f.owner ? '예' : '아니요'}`;
const en = (f: HouseholdFacts) => `floor area ${f.area === null ? 'not recorded' : `${f.area} m²`}, owner (业主): ${f.owner ? 'yes' : 'no'}`;

/** 工作人员绑定 and staff-only text. */
export const staff = defineMessages(
  {
    askCode: '请输入一次性工作人员绑定码（例如 S-ABCD-EFGH）。',
    codeInvalid: '绑定码无效、已使用或已过期。请向社区管理员索取新的绑定码。',
    tooManyAttempts: '尝试次数过多，请一小时后再试。',
    bound: (p: { role: string; area: string }) => `绑定成功：您现在是 ${p.area} 的${p.role}。`,
    role_grid_worker: '网格员',
    role_building_head: '楼栋长',
    role_community_secretary: '社区书记',
    role_community_director: '社区主任',
    role_subcommittee_member: '居委会下属委员会委员',
    role_street_official: '街道干部',
    role_county_official: '县（市）干部',
    role_admin: '系统管理员',
    householdRecord: (p: { place: string } & HouseholdFacts) => `${p.place}：${zh(p)}`,
    householdRecordSet: (p: { before: HouseholdFacts; after: HouseholdFacts }) => `已更新：${zh(p.before)} → ${zh(p.after)}`,
    householdRecordUnchanged: '没有变化：登记内容与原来相同。',
    householdNotHousehold: (p: { code: string }) => `${p.code} 不是一户住户，请给出户的编码。`,
    householdNotStaff: '只有社区工作人员可以查看或修改房屋登记。',
    householdOnLeave: '您正在休假，暂不能查看或修改房屋登记。',
    householdOutsideArea: (p: { place: string }) => `「${p.place}」不在您的工作范围内。`,
  },
  {
    askCode: '일회용 직원 등록 코드를 입력하세요(예: S-ABCD-EFGH).',
    codeInvalid: '코드가 올바르지 않거나 이미 사용되었거나 만료되었습니다. 관리자에게 새 코드를 요청하세요.',
    tooManyAttempts: '시도 횟수가 너무 많습니다. 1시간 후에 다시 시도하세요.',
    bound: (p: { role: string; area: string }) => `등록 완료: ${p.area}의 ${p.role}입니다.`,
    role_grid_worker: '그리드 담당자(网格员)',
    role_building_head: '동장(楼栋长)',
    role_community_secretary: '커뮤니티 서기',
    role_community_director: '커뮤니티 주임',
    role_subcommittee_member: '주민위원회 산하 위원',
    role_street_official: '가도 공무원',
    role_county_official: '현(시) 공무원',
    role_admin: '시스템 관리자',
    householdRecord: (p: { place: string } & HouseholdFacts) => `${p.place}: ${ko(p)}`,
    householdRecordSet: (p: { before: HouseholdFacts; after: HouseholdFacts }) => `변경됨: ${ko(p.before)} → ${ko(p.after)}`,
    householdRecordUnchanged: '변경 없음: 등록 내용이 이전과 같습니다.',
    householdNotHousehold: (p: { code: string }) => `${p.code}은(는) 세대가 아닙니다. 세대 코드를 입력하세요.`,
    householdNotStaff: '마을 직원만 주택 등록을 보거나 바꿀 수 있습니다.',
    householdOnLeave: '휴가 중이라 지금은 주택 등록을 보거나 바꿀 수 없습니다.',
    householdOutsideArea: (p: { place: string }) => `「${p.place}」은(는) 담당 구역이 아닙니다.`,
  },
  {
    askCode: 'Please type your one-time staff code (e.g. S-ABCD-EFGH).',
    codeInvalid: 'That staff code is invalid, used or expired. Ask your administrator for a new one.',
    tooManyAttempts: 'Too many attempts. Please try again in an hour.',
    bound: (p: { role: string; area: string }) => `Done: you are now ${p.role} for ${p.area}.`,
    role_grid_worker: 'grid worker (网格员)',
    role_building_head: 'building head (楼栋长)',
    role_community_secretary: 'community secretary',
    role_community_director: 'community director',
    role_subcommittee_member: 'sub-committee member',
    role_street_official: 'street official',
    role_county_official: 'county official',
    role_admin: 'administrator',
    householdRecord: (p: { place: string } & HouseholdFacts) => `${p.place}: ${en(p)}`,
    householdRecordSet: (p: { before: HouseholdFacts; after: HouseholdFacts }) => `updated: ${en(p.before)} → ${en(p.after)}`,
    householdRecordUnchanged: 'nothing changed: the record already says that.',
    householdNotHousehold: (p: { code: string }) => `${p.code} is not a household; give a household's code.`,
    householdNotStaff: 'Only community staff can see or change a household record.',
    householdOnLeave: 'You are on leave and cannot see or change household records now.',
    householdOutsideArea: (p: { place: string }) => `"${p.place}" is outside your area.`,
  },
);
