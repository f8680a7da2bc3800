import { and, asc, eq } from 'drizzle-orm';
import { expect } from 'vitest';
import type { Database } from '../../db/client.js';
import { caseEvents, casePhotos, cases } from '../../db/schema/index.js';
import { DEFAULT_SLA } from '../../src/cases/rules.js';
import { messages } from '../../src/i18n/index.js';
import type { ChatDriver } from '../support/chat-driver.js';
import { jpegWithExif } from '../support/images.js';
import type { SmallTown } from '../support/org-fixture.js';

const zh = messages('zh-CN');
const tl = zh.timeline;
const t = zh.cases;

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Case numbers as linli hands them out: `<county code>-<China day>-<sequence>`. */
export const CASE_NUMBER = /T-\d{8}-\d{4}/;

/**
 * Stands for a part of a message the script cannot know (a deadline, a place rendered by the
 * app): `like()` turns the rendered message into a pattern where it matches anything, so the
 * assertions use the app's own message functions instead of copies of their wording.
 */
const ANY = '\u0000';
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
export function like(rendered: string): RegExp {
  return new RegExp(rendered.split(ANY).map(escapeRe).join('[\\s\\S]*?'));
}

/** A driver that can also send a picture as the person (Telegram and WeChat drivers can). */
export interface PhotoSender {
  sendPhoto(bytes: Buffer): Promise<void>;
}
export const canSendPhoto = (chat: ChatDriver): chat is ChatDriver & PhotoSender => typeof (chat as Partial<PhotoSender>).sendPhoto === 'function';

/** Greeting, language (简体中文) and consent: the start every person goes through. */
async function greetAndConsent(chat: ChatDriver, timeoutMs: number): Promise<void> {
  await chat.sendText('你好');
  await chat.expectMessage(zh.onboarding.welcome, timeoutMs);
  await chat.choose('简体中文');
  await chat.expectMessage(zh.onboarding.privacyNotice.slice(0, 12), timeoutMs);
  await chat.choose(zh.onboarding.agree);
  await chat.expectMessage(zh.onboarding.consentThanks, timeoutMs);
}

/** Language, consent, the household invite → the main menu. */
async function onboardResident(chat: ChatDriver, town: SmallTown, timeoutMs: number): Promise<void> {
  await greetAndConsent(chat, timeoutMs);
  await chat.choose(zh.onboarding.bindInvite);
  await chat.expectMessage(zh.onboarding.askInvite, timeoutMs);
  await chat.sendText(town.inviteCode);
  await chat.expectMessage(zh.dialog.menuTitle, timeoutMs);
}

/**
 * `/staff <code>` as the very first message of the chat → bound to `area` (the whole place) in
 * `role`, and straight to the menu: staff are not walked through a resident's onboarding.
 */
async function bindStaff(chat: ChatDriver, code: string, role: string, area: string, timeoutMs: number): Promise<void> {
  await chat.sendText(`/staff ${code}`);
  await chat.expectMessage(zh.staff.bound({ role, area }), timeoutMs);
  await chat.expectMessage(zh.dialog.menuTitle, timeoutMs);
}

export interface ReportInput {
  category: string;
  description: string;
  priority: 'normal' | 'urgent';
  /** Attach this photo when the driver can send one. */
  photo?: Buffer;
  maxPhotos: number;
}

/**
 * 报事: menu → category → description → photos (one, or 跳过) → 就在我家 → urgency → the summary,
 * checked against what was entered → 确认提交. Returns the case number from the acknowledgement.
 */
export async function report(resident: ChatDriver, r: ReportInput, timeoutMs: number): Promise<{ number: string; photos: number }> {
  await resident.choose(t.menuReport);
  await resident.expectMessage(t.pickCategory, timeoutMs);
  await resident.choose(r.category);
  await resident.expectMessage(t.askDescription, timeoutMs);
  await resident.sendText(r.description);
  await resident.expectMessage(t.askPhotos({ max: r.maxPhotos }), timeoutMs);
  // …and how to send a photo on this channel.
  await resident.expectMessage(zh.report[`photoHow_${resident.channel}`], timeoutMs);
  let photos = 0;
  if (r.photo && canSendPhoto(resident)) {
    await resident.sendPhoto(r.photo);
    await resident.expectMessage(t.photoSaved({ n: 1, max: r.maxPhotos }), timeoutMs);
    photos = 1;
    await resident.choose(t.done);
  } else {
    await resident.choose(t.skip);
  }
  await resident.expectMessage(t.askLocation, timeoutMs);
  await resident.choose(t.atMyHome);
  await resident.expectMessage(t.askPriority, timeoutMs);
  await resident.choose(r.priority === 'urgent' ? t.urgent : t.normal);
  await resident.expectMessage(
    t.confirm({
      summary: t.summary({ category: r.category, description: r.description, place: t.placeHome, photos, priority: t[`priority_${r.priority}`] }),
    }),
    timeoutMs,
  );
  await resident.choose(t.submit);
  const ack = await resident.expectMessage(CASE_NUMBER, timeoutMs);
  const number = CASE_NUMBER.exec(ack)![0];
  expect(ack).toContain(t.submitted({ number }));
  return { number, photos };
}

export interface LifecycleOptions {
  /** CASE_MAX_PHOTOS the app runs with. */
  maxPhotos: number;
  /** How long to wait for each answer (WeChat replies are paced at 1/s per chat). */
  timeoutMs?: number;
  /**
   * Delivers the resident's 确认提交 again, twice (the platform's at-least-once delivery). By
   * default `resendLast()` twice; a channel test can do it its own way (waiting for confirmation).
   */
  redeliverSubmit?: () => Promise<void>;
}

export const LIFECYCLE = {
  category: '环境卫生',
  description: '3号楼2单元楼道堆满杂物，消防通道被堵',
  note: '已联系物业清理完毕',
  comment: '处理得很快，谢谢',
};

/**
 * The whole life of a case in chat: a grid worker binds; a resident of their grid reports (with a
 * photo where the channel can send one); the worker gets the card, accepts, resolves with a note;
 * the resident is told each step, rates 满意 with a comment and is thanked. The submit press is
 * delivered three times on the way and must change nothing. Returns the case number.
 */
export async function caseLifecycle(resident: ChatDriver, worker: ChatDriver, town: SmallTown, opts: LifecycleOptions): Promise<{ number: string; photos: number }> {
  const wait = opts.timeoutMs ?? 15_000;
  await bindStaff(worker, town.staffCodes.gridWorker, zh.staff.role_grid_worker, `${town.street.name} · ${town.community.name} · ${town.grid.name}`, wait);
  await onboardResident(resident, town, wait);

  const { number, photos } = await report(
    resident,
    { category: LIFECYCLE.category, description: LIFECYCLE.description, priority: 'normal', photo: await jpegWithExif(), maxPhotos: opts.maxPhotos },
    wait,
  );
  // Routing runs as a job after the commit: the resident hears who has it.
  await resident.expectMessage(t.toldAssigned({ number }), wait);

  // The same 确认提交 arrives twice more: no second case, no second acknowledgement.
  const before = (await resident.received()).length;
  if (opts.redeliverSubmit) await opts.redeliverSubmit();
  else {
    await resident.resendLast();
    await resident.resendLast();
  }
  await settle(1500);
  const after = await resident.received();
  // Compared as text, so a failure says which message came.
  expect(after.slice(before)).toEqual([]);
  expect(after.filter((m) => m.includes(t.submitted({ number })))).toHaveLength(1);

  // The grid worker of the resident's grid gets the card (normal priority, the resident's home).
  const card = await worker.expectMessage(
    like(t.card({ title: tl.cardNew, number, priority: t.priority_normal, category: LIFECYCLE.category, place: ANY, description: LIFECYCLE.description, due: ANY })),
    wait,
  );
  expect(card).toContain(town.building.name);
  // The resident's photo goes with the card, on every channel.
  if (photos) expect(card).toContain(zh.report.photosAttached({ n: photos }));
  await worker.choose(t.accept);
  await worker.expectMessage(like(t.acceptedStaff({ number, due: ANY })), wait);
  await resident.expectMessage(t.toldAccepted({ number }), wait);

  await worker.choose(t.resolve);
  await worker.expectMessage(t.askResolveNote, wait);
  await worker.sendText(LIFECYCLE.note);
  await worker.expectMessage(t.askResolvePhoto, wait);
  await worker.choose(t.skip);
  await worker.expectMessage(t.resolvedStaff({ number }), wait);
  // The worker has the menu back.
  await worker.expectMessage(zh.dialog.menuTitle, wait);

  await resident.expectMessage(t.toldResolved({ number, note: LIFECYCLE.note }), wait);
  await resident.choose(t.rate_satisfied);
  await resident.expectMessage(t.askRatingComment, wait);
  await resident.sendText(LIFECYCLE.comment);
  await resident.expectMessage(t.ratingThanks, wait);
  // The worker is told the rating and the comment.
  await worker.expectMessage(tl.ratingForStaffWithComment({ number, rating: t.rate_satisfied, comment: LIFECYCLE.comment }), wait);
  return { number, photos };
}

/** What the database must say after caseLifecycle: one case, routed to the worker, closed as rated. */
export async function expectLifecycleRecorded(db: Database['db'], number: string, who: { reporterId: string; workerId: string; photos: number }): Promise<void> {
  const mine = await db.select().from(cases).where(eq(cases.reporterId, who.reporterId));
  expect(mine.map((c) => c.number)).toEqual([number]);
  expect(mine[0]).toMatchObject({
    status: 'closed',
    level: 'grid',
    assigneeId: who.workerId,
    priority: 'normal',
    description: LIFECYCLE.description,
    rating: 'satisfied',
    ratingComment: LIFECYCLE.comment,
  });
  const photos = await db.select().from(casePhotos).where(and(eq(casePhotos.caseId, mine[0]!.id), eq(casePhotos.purpose, 'report')));
  expect(photos).toHaveLength(who.photos);
  const kinds = (await db.select({ kind: caseEvents.kind }).from(caseEvents).where(eq(caseEvents.caseId, mine[0]!.id)).orderBy(asc(caseEvents.id))).map((e) => e.kind);
  expect(kinds.filter((k) => k !== 'reminded')).toEqual(['submitted', 'assigned', 'accepted', 'resolved', 'rated', 'closed', 'commented']);
}

export const LADDER = {
  category: '公共设施维修',
  description: '2单元门口路灯杆被撞歪，随时可能倒下',
};

export interface LadderOptions {
  /** CASE_MAX_PHOTOS the app runs with. */
  maxPhotos: number;
  timeoutMs?: number;
  /** The grid's worker (already bound): told of the case as its assignee, and never accepts. */
  gridWorker?: ChatDriver;
}

/**
 * 提级督办: leaders bind; a resident reports an urgent case; community and street hear of it at
 * once (紧急事件); nobody accepts, so it climbs community → street → county, each leader getting a
 * 督办 card in turn; the county takes it over (我来处理) and the resident hears of the escalation
 * and the acceptance. Returns the case number and when each 督办 card was seen (ms since epoch).
 */
export async function escalationLadder(
  resident: ChatDriver,
  secretary: ChatDriver,
  street: ChatDriver,
  county: ChatDriver,
  town: SmallTown,
  opts: LadderOptions,
): Promise<{ number: string; seen: { community: number; street: number; county: number } }> {
  const wait = opts.timeoutMs ?? 15_000;
  await bindStaff(secretary, town.staffCodes.secretary, zh.staff.role_community_secretary, `${town.street.name} · ${town.community.name}`, wait);
  await bindStaff(street, town.staffCodes.street, zh.staff.role_street_official, town.street.name, wait);
  await bindStaff(county, town.staffCodes.county, zh.staff.role_county_official, town.county.name, wait);
  await onboardResident(resident, town, wait);

  const { number } = await report(resident, { category: LADDER.category, description: LADDER.description, priority: 'urgent', maxPhotos: opts.maxPhotos }, wait);

  const escalated = (level: 'community' | 'street' | 'county') =>
    like(t.escalatedCard({ number, level: t[`level_${level}`], category: LADDER.category, place: ANY, description: LADDER.description, due: ANY }));
  const at = (p: Promise<unknown>) => p.then(() => Date.now());
  // The three cards come one deadline apart; watch for all of them at once and note the times.
  const cards = Promise.all([
    at(secretary.expectMessage(escalated('community'), wait * 2)),
    at(street.expectMessage(escalated('street'), wait * 3)),
    at(county.expectMessage(escalated('county'), wait * 4)),
  ]);
  // (Should a step below fail first, the test fails there; this keeps the watch from also failing loose.)
  void cards.catch(() => undefined);
  // Meanwhile: urgent, so community and street are told at once; the county is not.
  const emergency = like(t.emergencyCard({ number, category: LADDER.category, place: ANY, description: LADDER.description }));
  await secretary.expectMessage(emergency, wait);
  await street.expectMessage(emergency, wait);
  if (opts.gridWorker) {
    await opts.gridWorker.expectMessage(like(t.card({ title: tl.cardNew, number, priority: t.priority_urgent, category: LADDER.category, place: ANY, description: LADDER.description, due: ANY })), wait);
  }
  await resident.expectMessage(t.toldAssigned({ number }), wait);
  await resident.expectMessage(t.toldEscalated({ number }), wait * 2);

  const [community, streetAt, countyAt] = await cards;
  expect(community).toBeLessThan(streetAt);
  expect(streetAt).toBeLessThan(countyAt);
  // Nobody below the county ever got a county card, and the county got no emergency card.
  expect((await county.received()).some((m) => emergency.test(m))).toBe(false);
  expect((await secretary.received()).some((m) => escalated('county').test(m))).toBe(false);

  await county.choose(t.takeOver);
  await county.expectMessage(t.tookOver({ number }), wait);
  await county.expectMessage(like(t.acceptedStaff({ number, due: ANY })), wait);
  await resident.expectMessage(t.toldAccepted({ number }), wait);
  return { number, seen: { community, street: streetAt, county: countyAt } };
}

/**
 * What the database must say after escalationLadder: the accept deadline and every level's
 * deadline were the default urgent SLA times `scale`, the case climbed community → street →
 * county no sooner than each deadline, and the county official now holds it.
 */
export async function expectLadderRecorded(db: Database['db'], number: string, who: { countyId: string; scale: number }): Promise<void> {
  const [c] = await db.select().from(cases).where(eq(cases.number, number));
  expect(c).toMatchObject({ priority: 'urgent', status: 'accepted', level: 'county', assigneeId: who.countyId });
  const events = await db.select().from(caseEvents).where(eq(caseEvents.caseId, c!.id)).orderBy(asc(caseEvents.id));
  const sla = DEFAULT_SLA.urgent;
  const acceptMs = Math.round(sla.acceptMinutes * 60_000 * who.scale);
  const levelMs = Math.round(sla.escalationMinutes * 60_000 * who.scale);
  const dueIn = (e: (typeof events)[number]) => new Date(String(e.details.dueAt)).getTime() - e.at.getTime();

  const assigned = events.find((e) => e.kind === 'assigned')!;
  expect(assigned.level).toBe('grid');
  expect(dueIn(assigned)).toBe(acceptMs);

  const climbs = events.filter((e) => e.kind === 'escalated').slice(0, 3);
  expect(climbs.map((e) => e.level)).toEqual(['community', 'street', 'county']);
  expect(climbs.map((e) => e.reason)).toEqual(['missed_accept', 'missed_accept', 'missed_accept']);
  for (const e of climbs) expect(dueIn(e)).toBe(levelMs);
  // Each climb waited for the deadline before it (and not a day: the shortened one).
  expect(climbs[0]!.at.getTime() - assigned.at.getTime()).toBeGreaterThanOrEqual(acceptMs);
  expect(climbs[1]!.at.getTime() - climbs[0]!.at.getTime()).toBeGreaterThanOrEqual(levelMs);
  expect(climbs[2]!.at.getTime() - climbs[1]!.at.getTime()).toBeGreaterThanOrEqual(levelMs);

  const took = events.find((e) => e.kind === 'accepted')!;
  expect(took).toMatchObject({ actorId: who.countyId, reason: 'take_over' });
  expect(took.at.getTime()).toBeGreaterThan(climbs[2]!.at.getTime());
}
