import { and, eq, isNotNull } from 'drizzle-orm';
import { z } from 'zod';
import { orgUnits, people, volunteerProfiles } from '../../db/schema/index.js';
import type { Queryable, Tx } from '../../db/client.js';
import { recordAudit } from '../audit/audit.js';
import { VolunteerError } from './errors.js';
import { mustReach } from './scope.js';

export const profileSchema = z.object({
  communityId: z.number().int().positive(),
  skills: z.array(z.string().trim().min(1).max(20)).max(10).default([]),
  availability: z.string().trim().max(60).optional(),
  team: z.string().trim().max(40).optional(),
});
export type ProfileInput = z.input<typeof profileSchema>;

export type VolunteerProfile = typeof volunteerProfiles.$inferSelect;

async function mustBeCommunity(db: Queryable, unitId: number): Promise<void> {
  const [u] = await db.select({ kind: orgUnits.kind }).from(orgUnits).where(eq(orgUnits.id, unitId));
  if (!u) throw new VolunteerError('no_such_unit');
  if (u.kind !== 'community') throw new VolunteerError('not_community');
}

/** 志愿者登记: skills, availability and team, for the community the person serves in. */
export async function saveProfile(tx: Tx, personId: string, input: ProfileInput): Promise<VolunteerProfile> {
  const p = profileSchema.parse(input);
  await mustBeCommunity(tx, p.communityId);
  const values = { communityId: p.communityId, skills: [...new Set(p.skills)], availability: p.availability ?? null, team: p.team ?? null };
  const [row] = await tx.insert(volunteerProfiles).values({ personId, ...values }).onConflictDoUpdate({ target: volunteerProfiles.personId, set: values }).returning();
  return row!;
}

export async function getProfile(db: Queryable, personId: string): Promise<VolunteerProfile | undefined> {
  const [row] = await db.select().from(volunteerProfiles).where(eq(volunteerProfiles.personId, personId));
  return row;
}

export const partyReportSchema = z.object({ homeCommunityId: z.number().int().positive(), workUnit: z.string().trim().min(2).max(60) });

/**
 * 在职党员到社区报到: an in-service party member reports to their home community (which becomes
 * the community they serve in); the community sees who has reported.
 */
export async function reportAsPartyMember(tx: Tx, personId: string, input: z.input<typeof partyReportSchema>, now: Date): Promise<VolunteerProfile> {
  const r = partyReportSchema.parse(input);
  await mustBeCommunity(tx, r.homeCommunityId);
  const [row] = await tx
    .insert(volunteerProfiles)
    .values({ personId, communityId: r.homeCommunityId, partyReportedAt: now, partyWorkUnit: r.workUnit })
    .onConflictDoUpdate({ target: volunteerProfiles.personId, set: { communityId: r.homeCommunityId, partyReportedAt: now, partyWorkUnit: r.workUnit } })
    .returning();
  await recordAudit(tx, { actorId: personId, action: 'volunteer.party_report', subjectType: 'org_unit', subjectId: String(r.homeCommunityId) });
  return row!;
}

/** Who has reported to a community (staff reaching it only). */
export async function reportedPartyMembers(db: Queryable, staffId: string, communityId: number) {
  await mustReach(db, staffId, communityId);
  return db
    .select({ personId: volunteerProfiles.personId, name: people.displayName, workUnit: volunteerProfiles.partyWorkUnit, reportedAt: volunteerProfiles.partyReportedAt, team: volunteerProfiles.team })
    .from(volunteerProfiles)
    .innerJoin(people, eq(people.id, volunteerProfiles.personId))
    .where(and(eq(volunteerProfiles.communityId, communityId), isNotNull(volunteerProfiles.partyReportedAt)))
    .orderBy(volunteerProfiles.partyReportedAt);
}
