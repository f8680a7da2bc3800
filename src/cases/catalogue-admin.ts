import { and, asc, eq, isNull, or, sql } from 'drizzle-orm';
import { caseCategories, dutyList } from '../../db/schema/index.js';
import type { Queryable, Tx } from '../../db/client.js';
import { recordAudit } from '../audit/audit.js';
import type { Priority } from './rules.js';
import type { SubCommittee } from '../staff/codes.js';

/**
 * A community's own catalogue of case categories and its 社区权责清单 (duty list: who owns each
 * category), and the county's deadline policies. The commands take a transaction and write an
 * audit row with the change; the CLI calls them today, the console will tomorrow.
 */

/** Who makes the change: a person (console) or nobody in particular (the operator's CLI). */
export interface Actor {
  actorId: string | null;
  via: 'cli' | 'console';
}

/** The owner of a category in a community's duty list. */
export type DutyOwner =
  | { owner: 'grid_worker' }
  | { owner: 'sub_committee'; subCommittee: SubCommittee }
  | { owner: 'department'; level: 'street' | 'county'; department: string };

export type CatalogueProblem = 'category_exists' | 'no_category' | 'county_wide' | 'no_county_category';

/** A change the catalogue refuses, with what was asked for. */
export class CatalogueError extends Error {
  constructor(
    readonly reason: CatalogueProblem,
    readonly code: string,
  ) {
    super(`${reason}: ${code}`);
    this.name = 'CatalogueError';
  }
}

/** The community's categories in offer order, each with its owner (grid_worker when the list has none). */
export async function categoriesWithOwners(db: Queryable, communityId: number) {
  const rows = await db
    .select({ id: caseCategories.id, code: caseCategories.code, names: caseCategories.names, emergency: caseCategories.emergency, communityId: caseCategories.communityId })
    .from(caseCategories)
    .where(and(eq(caseCategories.active, true), or(isNull(caseCategories.communityId), eq(caseCategories.communityId, communityId))))
    .orderBy(asc(caseCategories.sortOrder), asc(caseCategories.id));
  const duties = await db.select().from(dutyList).where(eq(dutyList.communityId, communityId));
  return rows.map((r) => {
    const d = duties.find((x) => x.categoryId === r.id);
    const owner: DutyOwner | undefined = !d
      ? undefined
      : d.owner === 'sub_committee'
        ? { owner: 'sub_committee', subCommittee: d.subCommittee! }
        : d.owner === 'department'
          ? { owner: 'department', level: d.departmentLevel as 'street' | 'county', department: d.department! }
          : { owner: 'grid_worker' };
    return { ...r, own: r.communityId !== null, owner };
  });
}

/** The category `code` as a community sees it: its own, else the county-wide one. */
export async function findCategory(db: Queryable, communityId: number, code: string) {
  const [cat] = await db
    .select()
    .from(caseCategories)
    .where(and(eq(caseCategories.code, code), or(isNull(caseCategories.communityId), eq(caseCategories.communityId, communityId))))
    .orderBy(sql`${caseCategories.communityId} nulls last`);
  if (!cat) throw new CatalogueError('no_category', code);
  return cat;
}

/** Adds a category of the community's own, owned by the grid worker until the duty list says otherwise. */
export async function addCategory(
  tx: Tx,
  actor: Actor,
  input: { communityId: number; code: string; names: { 'zh-CN': string; ko?: string; en?: string }; emergency: boolean },
): Promise<{ categoryId: number }> {
  const [row] = await tx
    .insert(caseCategories)
    .values({ communityId: input.communityId, code: input.code, names: input.names, emergency: input.emergency, sortOrder: 500 })
    .onConflictDoNothing()
    .returning({ id: caseCategories.id });
  if (!row) throw new CatalogueError('category_exists', input.code);
  await tx.insert(dutyList).values({ communityId: input.communityId, categoryId: row.id, owner: 'grid_worker' });
  await recordAudit(tx, {
    actorId: actor.actorId,
    action: 'catalogue.category_added',
    subjectType: 'case_category',
    subjectId: String(row.id),
    details: { via: actor.via, communityId: input.communityId, code: input.code, emergency: input.emergency },
  });
  return { categoryId: row.id };
}

/** Stops offering one of the community's own categories (county-wide ones are shared, so only re-routed). */
export async function retireCategory(tx: Tx, actor: Actor, input: { communityId: number; code: string }): Promise<{ categoryId: number }> {
  const cat = await findCategory(tx, input.communityId, input.code);
  if (cat.communityId === null) throw new CatalogueError('county_wide', input.code);
  await tx.update(caseCategories).set({ active: false }).where(eq(caseCategories.id, cat.id));
  await recordAudit(tx, {
    actorId: actor.actorId,
    action: 'catalogue.category_retired',
    subjectType: 'case_category',
    subjectId: String(cat.id),
    details: { via: actor.via, communityId: input.communityId, code: input.code },
  });
  return { categoryId: cat.id };
}

/** Sets who owns a category in the community's duty list (权责清单). */
export async function setDuty(tx: Tx, actor: Actor, input: { communityId: number; code: string; owner: DutyOwner }): Promise<{ categoryId: number }> {
  const cat = await findCategory(tx, input.communityId, input.code);
  const o = input.owner;
  const row = {
    owner: o.owner,
    subCommittee: o.owner === 'sub_committee' ? o.subCommittee : null,
    department: o.owner === 'department' ? o.department : null,
    departmentLevel: o.owner === 'department' ? o.level : null,
  };
  await tx
    .insert(dutyList)
    .values({ communityId: input.communityId, categoryId: cat.id, ...row })
    .onConflictDoUpdate({ target: [dutyList.communityId, dutyList.categoryId], set: row });
  await recordAudit(tx, {
    actorId: actor.actorId,
    action: 'catalogue.duty_set',
    subjectType: 'org_unit',
    subjectId: String(input.communityId),
    details: { via: actor.via, category: cat.code, ...row },
  });
  return { categoryId: cat.id };
}

/**
 * Sets the deadlines (minutes) for a priority, county-wide or for one county-wide category:
 * one statement on the policy's unique key, so two operators setting it at once leave one row.
 */
export async function setDeadlinePolicy(
  tx: Tx,
  actor: Actor,
  input: { priority: Priority; categoryCode?: string; acceptMinutes: number; resolveMinutes: number; escalationMinutes: number },
): Promise<{ policyId: number }> {
  let categoryId: number | null = null;
  if (input.categoryCode) {
    const [cat] = await tx
      .select({ id: caseCategories.id })
      .from(caseCategories)
      .where(and(eq(caseCategories.code, input.categoryCode), isNull(caseCategories.communityId)));
    if (!cat) throw new CatalogueError('no_county_category', input.categoryCode);
    categoryId = cat.id;
  }
  const rows = await tx.execute<{ id: number }>(sql`
    insert into sla_policies (category_id, priority, accept_minutes, resolve_minutes, escalation_minutes)
    values (${categoryId}, ${input.priority}, ${input.acceptMinutes}, ${input.resolveMinutes}, ${input.escalationMinutes})
    on conflict (coalesce(category_id, 0), priority) do update
      set accept_minutes = excluded.accept_minutes, resolve_minutes = excluded.resolve_minutes, escalation_minutes = excluded.escalation_minutes
    returning id`);
  const policyId = Number(rows[0]!.id);
  await recordAudit(tx, {
    actorId: actor.actorId,
    action: 'deadlines.policy_set',
    subjectType: 'sla_policy',
    subjectId: String(policyId),
    details: {
      via: actor.via,
      priority: input.priority,
      category: input.categoryCode ?? null,
      acceptMinutes: input.acceptMinutes,
      resolveMinutes: input.resolveMinutes,
      escalationMinutes: input.escalationMinutes,
    },
  });
  return { policyId };
}
