import { and, asc, eq, isNull, or } from 'drizzle-orm';
import { caseCategories } from '../../db/schema/index.js';
import type { Queryable } from '../../db/client.js';
import type { Locale } from '../config.js';

/** The categories a community offers: the county-wide ones plus its own, active, in its order. */
export async function categoriesFor(db: Queryable, communityId: number) {
  return db
    .select({ id: caseCategories.id, names: caseCategories.names, emergency: caseCategories.emergency })
    .from(caseCategories)
    .where(and(eq(caseCategories.active, true), or(isNull(caseCategories.communityId), eq(caseCategories.communityId, communityId))))
    .orderBy(asc(caseCategories.sortOrder), asc(caseCategories.id))
    .limit(20);
}

/** A category name in the reader's language (names are data the community edits). */
export function categoryName(names: { 'zh-CN': string; ko?: string; en?: string }, locale: Locale): string {
  return names[locale] ?? names['zh-CN'];
}
