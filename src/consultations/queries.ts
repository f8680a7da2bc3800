import { inArray, sql } from 'drizzle-orm';
import { consultations } from '../../db/schema/index.js';
import type { Queryable } from '../../db/client.js';
import type { ConsultationRow } from './commands.js';
import { underScopes } from '../audience/scopes.js';

/** Read-only views of consultations: the published ballot list, what a resident can see. */

export interface PublishedBallot {
  id: number;
  seq: number | null;
  receipt: string;
  choices: number[];
  counted: boolean;
  /** Open ballots that say so only: who cast it. */
  name?: string | null;
}

/**
 * 公示: every ballot of a published consultation by receipt, with its choices and whether it
 * counted (a later ballot of the same voter replaced it). Never an identity for a secret ballot:
 * its voters' rows carry no token to join on.
 */
export async function publishedBallots(db: Queryable, c: ConsultationRow, opts: { afterId?: number; limit?: number } = {}): Promise<PublishedBallot[]> {
  const names = !c.secret && c.showNames;
  const rows = (await db.execute(sql`
    select b.id, b.seq, b.receipt, b.choices,
           not exists (select 1 from ballots r where r.consultation_id = b.consultation_id and r.replaces_id = b.id) as counted
           ${names ? sql`, (select coalesce(p.display_name, h.name) from consultation_voters v left join people p on p.id = v.person_id left join org_units h on h.id = v.household_id
                        where v.consultation_id = b.consultation_id and v.voter_token = b.voter_token limit 1) as name` : sql``}
    from ballots b
    where b.consultation_id = ${c.id} and b.id > ${opts.afterId ?? 0}
      and exists (select 1 from consultations c where c.id = b.consultation_id and c.status = 'published')
    order by b.id limit ${opts.limit ?? 1000}`)) as unknown as PublishedBallot[];
  return rows;
}

/** Consultations covering the person's household: open ones, and those published in the last 30 days. */
export async function consultationsFor(db: Queryable, householdId: number, now: Date): Promise<ConsultationRow[]> {
  const rows = (await db.execute(sql`
    select c.id from consultations c
    where (c.status = 'open' or (c.status = 'published' and c.published_at > ${new Date(now.getTime() - 30 * 86400_000).toISOString()}))
      and ${underScopes('consultation', sql`c.id`, sql`(select path from org_units where id = ${householdId})`)}
    order by c.status = 'open' desc, c.closes_at limit 8`)) as unknown as { id: string }[];
  if (rows.length === 0) return [];
  const full = await db.select().from(consultations).where(inArray(consultations.id, rows.map((r) => r.id)));
  const byId = new Map(full.map((c) => [c.id, c]));
  return rows.map((r) => byId.get(r.id)!).filter(Boolean);
}
