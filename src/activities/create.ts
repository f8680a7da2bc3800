import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { activities, activityOrganisers, activityScopes, activitySessions, orgUnits } from '../../db/schema/index.js';
import { eq } from 'drizzle-orm';
import { recordAudit } from '../audit/audit.js';
import { AUDIENCE_GROUPS } from '../audience/groups.js';
import { LOCALES, type Config, type Locale } from '../config.js';
import { messages } from '../i18n/index.js';
import { confirmNotice, createNotice } from '../notices/commands.js';
import { followUpIn } from '../notices/follow.js';
import type { QuietHours } from '../notices/rules.js';
import { localDateTime } from '../org/time.js';
import { checkScopes } from '../staff/scope.js';
import type { UnitOfWork } from '../work/unit.js';
import { ActivityError } from './errors.js';
import { ACTIVITY_KINDS, distinctCheckinCodes, expandSeries, MAX_SESSIONS, remindersAhead, SERVICE_LINES, signupWindowProblem } from './rules.js';
import { REMINDER_TIMER, TERM_END_TIMER } from './timers.js';

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/);

export const scheduleSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('once'), startsAt: z.coerce.date(), endsAt: z.coerce.date() }).refine((s) => s.endsAt > s.startsAt, 'ends before it starts'),
  z.object({
    kind: z.literal('series'),
    from: day,
    until: day,
    weekday: z.number().int().min(0).max(6),
    time: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/),
    durationMinutes: z.number().int().min(10).max(12 * 60),
  }),
]);

export const activityInputSchema = z
  .object({
    kind: z.enum(ACTIVITY_KINDS),
    serviceLine: z.enum(SERVICE_LINES).optional(),
    title: z.string().trim().min(2).max(60),
    topic: z.string().trim().max(30).optional(),
    speaker: z.string().trim().max(40).optional(),
    venue: z.string().trim().max(80).optional(),
    link: z.url().max(300).optional(),
    /** The community it is held for (counts in its 服务进社区 coverage). */
    communityId: z.number().int().positive(),
    /** Audience; defaults to the whole community. */
    scopeUnitIds: z.array(z.number().int().positive()).max(10).optional(),
    groups: z.array(z.enum(AUDIENCE_GROUPS)).max(AUDIENCE_GROUPS.length).default([]),
    capacity: z.number().int().min(1).max(10_000),
    schedule: scheduleSchema,
    /** 报名时间: defaults to now … the (last) session's start. */
    signupOpensAt: z.coerce.date().optional(),
    signupClosesAt: z.coerce.date().optional(),
    offerMinutes: z.number().int().min(5).max(7 * 24 * 60).default(120),
    /** Other staff who organise it with the creator. */
    organiserIds: z.array(z.uuid()).max(10).default([]),
    announce: z.boolean().default(true),
  })
  .refine((a) => a.venue || a.link, { message: 'venue or link', path: ['venue'] })
  .refine((a) => (a.kind === 'service') === (a.serviceLine !== undefined), { message: 'a service line for 服务进社区 (and only then)', path: ['serviceLine'] });

export type ActivityInput = z.input<typeof activityInputSchema>;

export interface ActivitySettings {
  timeZone: string;
  quiet: { hours: QuietHours; timeZone: string };
  /** The language of the announcement (a notice has one text). */
  locale?: Locale;
}

/** The activity settings of a config: one place for the chat flows and the CLI. */
export function activitySettings(config: Pick<Config, 'notices' | 'defaultLocale'>): ActivitySettings {
  return { timeZone: config.notices.timeZone, quiet: { hours: config.notices.quietHours, timeZone: config.notices.timeZone }, locale: config.defaultLocale };
}

export interface CreatedActivity {
  activityId: string;
  sessions: { id: string; startsAt: Date; checkinCode: string }[];
  signup: { opensAt: Date; closesAt: Date };
  noticeId: string | null;
}

/**
 * 发布活动: an activity (or a series, one session per date with its own seats), for an area the
 * creator reaches (staff scope); reminders armed for every session, 四点半课堂's term end armed
 * to delete the children's data, and the announcement sent through notices.
 */
export async function createActivity(uow: UnitOfWork, actorId: string, input: ActivityInput, now: Date, settings: ActivitySettings): Promise<CreatedActivity> {
  const a = activityInputSchema.parse(input);
  const tx = uow.tx;
  const scopeIds = [...new Set(a.scopeUnitIds?.length ? a.scopeUnitIds : [a.communityId])];
  const reach = await checkScopes(tx, actorId, [a.communityId, ...scopeIds]);
  if (!reach.ok) throw new ActivityError(reach.reason);
  const [community] = await tx.select({ kind: orgUnits.kind }).from(orgUnits).where(eq(orgUnits.id, a.communityId));
  if (community?.kind !== 'community') throw new ActivityError('not_community');

  const dates =
    a.schedule.kind === 'once'
      ? [{ startsAt: a.schedule.startsAt, endsAt: a.schedule.endsAt, capacity: a.capacity }]
      : expandSeries({ ...a.schedule, capacity: a.capacity, timeZone: settings.timeZone });
  const ahead = dates.filter((d) => d.startsAt > now);
  if (ahead.length === 0 || ahead.length > MAX_SESSIONS) throw new ActivityError('closed');
  const last = ahead[ahead.length - 1]!;
  const lastEnd = last.endsAt;
  const signup = { opensAt: a.signupOpensAt ?? now, closesAt: a.signupClosesAt ?? last.startsAt };
  const badWindow = signupWindowProblem(signup, last.startsAt, now);
  if (badWindow) throw new ActivityError(badWindow);

  const [row] = await tx
    .insert(activities)
    .values({
      kind: a.kind,
      serviceLine: a.serviceLine ?? null,
      title: a.title,
      topic: a.topic ?? null,
      speaker: a.speaker ?? null,
      venue: a.venue ?? null,
      link: a.link ?? null,
      communityId: a.communityId,
      groups: [...new Set(a.groups)],
      signupOpensAt: signup.opensAt,
      signupClosesAt: signup.closesAt,
      offerMinutes: a.offerMinutes,
      termEndsAt: a.kind === 'after_school' ? lastEnd : null,
      createdBy: actorId,
      createdAt: now,
    })
    .returning({ id: activities.id });
  const activityId = row!.id;
  await tx.insert(activityScopes).values(scopeIds.map((orgUnitId) => ({ activityId, orgUnitId })));
  const organisers = [...new Set([actorId, ...a.organiserIds])];
  await tx.insert(activityOrganisers).values(organisers.map((personId) => ({ activityId, personId })));
  const codes = distinctCheckinCodes(ahead.length, () => randomBytes(8));
  const sessions = await tx
    .insert(activitySessions)
    .values(ahead.map((d, i) => ({ activityId, position: i + 1, startsAt: d.startsAt, endsAt: d.endsAt, capacity: d.capacity, checkinCode: codes[i]! })))
    .returning({ id: activitySessions.id, startsAt: activitySessions.startsAt, checkinCode: activitySessions.checkinCode });

  await uow.timers.setMany(
    sessions.flatMap((s) => remindersAhead(s.startsAt, now).map((r) => ({ kind: REMINDER_TIMER, subjectId: `${s.id}:${r.key}`, seq: 1, dueAt: r.at }))),
  );
  if (a.kind === 'after_school') await uow.timers.set({ kind: TERM_END_TIMER, subjectId: activityId, seq: 1, dueAt: lastEnd });
  await recordAudit(tx, { actorId, action: 'activity.create', subjectType: 'activity', subjectId: activityId, details: { kind: a.kind, sessions: sessions.length, scopes: scopeIds } });

  let noticeId: string | null = null;
  if (a.announce) {
    const t = messages(settings.locale ?? LOCALES[0]).activities;
    const first = sessions[0]!.startsAt;
    const notice = await createNotice(
      tx,
      actorId,
      {
        title: a.title.length >= 2 ? a.title : t.announceTitle,
        body: t.announceBody({
          kind: t[`kind_${a.kind}`],
          topic: a.topic ?? '',
          speaker: a.speaker ?? '',
          place: [a.venue, a.link].filter(Boolean).join(' / '),
          when: localDateTime(first, settings.timeZone),
          sessions: sessions.length,
          capacity: a.capacity,
        }),
        category: 'activity',
        scopeUnitIds: scopeIds,
        groups: a.groups,
      },
      now,
    );
    noticeId = notice.id;
    await tx.update(activities).set({ noticeId }).where(eq(activities.id, activityId));
    await followUpIn(uow, await confirmNotice(tx, actorId, notice.id, now, settings.quiet));
  }
  return { activityId, sessions, signup, noticeId };
}
