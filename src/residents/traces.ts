import { and, eq, isNull, ne, sql, type AnyColumn, type SQL } from 'drizzle-orm';
import { people } from '../../db/schema/index.js';
import type { Queryable } from '../../db/client.js';
import { getUnit, lineage } from '../org/tree.js';

/**
 * What erasure knows of a person to find them where no foreign key points at them: text staff
 * typed (a visit roster's 走访对象, a proxy's grantor, a 四点半课堂 guardian's phone). Read before
 * the person row is emptied.
 */
export interface ErasedPerson {
  id: string;
  /** The name they chose, when long enough (2+ characters) to mean someone, compacted. */
  name: string | null;
  /** The last 11 digits of their phone (the number without +86), when it has 7 or more. */
  phone: string | null;
  householdId: number | null;
  /** The community their home lies in. */
  communityId: number | null;
  /** Their home as staff write it, building + unit + room run together (3号楼2单元301), only when nobody else lives there. */
  home: string | null;
}

/** Text as compared: no spaces or separators, so "3号楼 2单元-301" and "3号楼2单元301" are one. */
export const compact = (text: string) => text.replace(/[\s·\-—_/,，、.。]/g, '');

/** The last 11 digits of a phone as written (spaces, dashes, +86 dropped); null when too short to be one. */
export function phoneTail(phone: string | null): string | null {
  const digits = (phone ?? '').replace(/\D/g, '');
  return digits.length >= 7 ? digits.slice(-11) : null;
}

/**
 * Whether free text names the person: their phone anywhere in it, their name or (with `home`)
 * their home within it. Callers limit where a name counts (their household, their community),
 * since two people may share one.
 */
export function namedIn(text: string, who: Pick<ErasedPerson, 'name' | 'phone' | 'home'>, opts: { name: boolean; home: boolean }): boolean {
  const t = compact(text);
  if (who.phone && t.replace(/\D/g, '').includes(who.phone)) return true;
  if (opts.name && who.name && t.includes(who.name)) return true;
  return opts.home && who.home !== null && t.includes(who.home);
}

/** Reads what `ErasedPerson` holds for a person, from their row and their home's place in the tree. */
export async function describeErased(db: Queryable, personId: string): Promise<ErasedPerson> {
  const [p] = await db.select({ displayName: people.displayName, phone: people.phone, householdId: people.householdId }).from(people).where(eq(people.id, personId));
  const name = p?.displayName ? compact(p.displayName) : '';
  const who: ErasedPerson = { id: personId, name: name.length >= 2 ? name : null, phone: phoneTail(p?.phone ?? null), householdId: p?.householdId ?? null, communityId: null, home: null };
  const unit = who.householdId === null ? undefined : await getUnit(db, who.householdId);
  if (!unit) return who;
  const line = await lineage(db, unit);
  who.communityId = line.find((u) => u.kind === 'community')?.id ?? null;
  const [other] = await db
    .select({ id: people.id })
    .from(people)
    .where(and(eq(people.householdId, unit.id), eq(people.householdStatus, 'bound'), isNull(people.erasedAt), ne(people.id, personId)))
    .limit(1);
  if (!other) who.home = compact(line.filter((u) => u.kind === 'building' || u.kind === 'unit' || u.kind === 'household').map((u) => u.name).join(''));
  return who;
}

/** `phoneTail` of a text column, in SQL. */
export const phoneTailSql = (column: AnyColumn) => sql`right(regexp_replace(${column}, '[^0-9]', '', 'g'), 11)`;

/** Whether a text column (or expression) holds the person's phone among its digits, in SQL: the candidates `namedIn` then decides on. */
export const mentionsPhoneSql = (text: AnyColumn | SQL, phone: string | null): SQL => (phone ? sql`regexp_replace(${text}, '[^0-9]', '', 'g') like ${`%${phone}%`}` : sql`false`);
