import { and, eq, isNull } from 'drizzle-orm';
import { caseCategories, dutyList } from '../../db/schema/index.js';
import type { Tx } from '../../db/client.js';
import type { SubCommittee } from '../staff/codes.js';

type Owner =
  | { owner: 'grid_worker' }
  | { owner: 'sub_committee'; subCommittee: SubCommittee }
  | { owner: 'department'; department: string; level: 'street' | 'county' };

/**
 * The county-wide default catalogue of case categories and, per category, the default owner in
 * a community's 社区权责清单. A community edits both (its own categories, its own duty list); these
 * are only where it starts. Department-owned matters go above the community (权随责走).
 */
export const DEFAULT_CATEGORIES: { code: string; names: { 'zh-CN': string; ko: string; en: string }; emergency?: boolean; duty: Owner }[] = [
  { code: 'environment', names: { 'zh-CN': '环境卫生', ko: '환경 위생', en: 'Sanitation' }, duty: { owner: 'grid_worker' } },
  { code: 'facilities', names: { 'zh-CN': '公共设施维修', ko: '공공시설 수리', en: 'Public facilities' }, duty: { owner: 'grid_worker' } },
  { code: 'property', names: { 'zh-CN': '物业服务', ko: '관리 서비스', en: 'Property management' }, duty: { owner: 'sub_committee', subCommittee: 'environment_property' } },
  { code: 'neighbour', names: { 'zh-CN': '邻里纠纷', ko: '이웃 분쟁', en: 'Neighbour dispute' }, duty: { owner: 'sub_committee', subCommittee: 'mediation' } },
  { code: 'safety', names: { 'zh-CN': '安全隐患', ko: '안전 위험', en: 'Safety hazard' }, emergency: true, duty: { owner: 'grid_worker' } },
  { code: 'health', names: { 'zh-CN': '公共卫生', ko: '공중 보건', en: 'Public health' }, duty: { owner: 'sub_committee', subCommittee: 'emergency_health' } },
  { code: 'elderly', names: { 'zh-CN': '助老助残', ko: '노인·장애인 돕기', en: 'Elderly & disability help' }, duty: { owner: 'grid_worker' } },
  {
    code: 'heating',
    names: { 'zh-CN': '供暖（热力公司）', ko: '난방(열공급 회사)', en: 'Heating (utility)' },
    duty: { owner: 'department', department: '市住建局（供热）', level: 'county' },
  },
  { code: 'other', names: { 'zh-CN': '其他', ko: '기타', en: 'Other' }, duty: { owner: 'grid_worker' } },
];

/** Inserts the county-wide categories once (community_id null). */
export async function installDefaultCategories(tx: Tx): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  for (const [i, c] of DEFAULT_CATEGORIES.entries()) {
    const [existing] = await tx
      .select({ id: caseCategories.id })
      .from(caseCategories)
      .where(and(isNull(caseCategories.communityId), eq(caseCategories.code, c.code)));
    const id =
      existing?.id ??
      (await tx.insert(caseCategories).values({ communityId: null, code: c.code, names: c.names, emergency: c.emergency ?? false, sortOrder: i * 10 }).returning({ id: caseCategories.id }))[0]!
        .id;
    ids.set(c.code, id);
  }
  return ids;
}

/** A community's duty list from the defaults; rows it already has are kept as they are. */
export async function installDefaultDutyList(tx: Tx, communityId: number): Promise<void> {
  const ids = await installDefaultCategories(tx);
  for (const c of DEFAULT_CATEGORIES) {
    const d = c.duty;
    await tx
      .insert(dutyList)
      .values({
        communityId,
        categoryId: ids.get(c.code)!,
        owner: d.owner,
        subCommittee: d.owner === 'sub_committee' ? d.subCommittee : null,
        department: d.owner === 'department' ? d.department : null,
        departmentLevel: d.owner === 'department' ? d.level : null,
      })
      .onConflictDoNothing();
  }
}
