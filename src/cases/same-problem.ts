import { and, desc, eq, gte, inArray } from 'drizzle-orm';
import { caseFollowers, cases } from '../../db/schema/index.js';
import type { FlowContext } from '../dialog/flow.js';
import { ancestorOfKind, getUnit } from '../org/tree.js';
import type { Home } from './flow-kit.js';
import { DUPLICATE_RULES, looksLikeSameProblem, OPEN_STATUSES } from './rules.js';

/** An open case of the same category nearby, reported recently, that this person does not follow yet. */
export async function sameProblem(ctx: FlowContext, home: Home, data: Record<string, unknown>) {
  const since = new Date(ctx.now.getTime() - DUPLICATE_RULES.maxAgeDays * 86_400_000);
  const candidates = await ctx.tx
    .select({ id: cases.id, number: cases.number, description: cases.description, placeId: cases.placeId, lat: cases.lat, lng: cases.lng, createdAt: cases.createdAt, status: cases.status, categoryId: cases.categoryId })
    .from(cases)
    .where(
      and(
        eq(cases.communityId, home.communityId),
        eq(cases.categoryId, Number(data.categoryId)),
        inArray(cases.status, [...OPEN_STATUSES]),
        gte(cases.createdAt, since),
      ),
    )
    .orderBy(desc(cases.createdAt))
    .limit(50);
  const followed = new Set(
    (await ctx.tx.select({ caseId: caseFollowers.caseId }).from(caseFollowers).where(eq(caseFollowers.personId, ctx.person.id))).map((r) => r.caseId),
  );
  const point = data.point as { lat: number; lng: number } | null;
  for (const c of candidates) {
    if (followed.has(c.id)) continue;
    const building = c.placeId !== null ? await getUnit(ctx.tx, c.placeId).then((u) => (u ? ancestorOfKind(ctx.tx, u, 'building') : undefined)) : undefined;
    const hit = looksLikeSameProblem(
      { categoryId: Number(data.categoryId), buildingId: point ? null : home.buildingId, point, at: ctx.now },
      { categoryId: c.categoryId, buildingId: building?.id ?? null, point: c.lat !== null ? { lat: Number(c.lat), lng: Number(c.lng) } : null, at: c.createdAt, status: c.status },
    );
    if (hit) return c;
  }
  return undefined;
}

