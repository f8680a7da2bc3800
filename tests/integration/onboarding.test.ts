import { recordChoicesShown } from '../../src/outbox/shown.js';
import type { Reply } from '../../src/dialog/reply.js';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, dialogStates, householdClaims, inboundMessages, outbox, people, staffAssignments } from '../../db/schema/index.js';
import { loadConfig } from '../../src/config.js';
import { createDialog, type Dialog } from '../../src/dialog/engine.js';
import { messages } from '../../src/i18n/index.js';
import { createLogger } from '../../src/log.js';
import type { QueuedMessage } from '../../src/outbox/outbox.js';
import { residentFlows } from '../../src/residents/flows.js';
import { createTestDatabase, TEST_CODE_SECRET } from '../support/db.js';
import { EngineChat } from '../support/engine-chat.js';
import { createSmallTown, type SmallTown } from '../support/org-fixture.js';

const zh = messages('zh-CN');
const en = messages('en');
const ko = messages('ko');

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let dialog: Dialog;
let town: SmallTown;
const enqueued: QueuedMessage[] = [];
const config = loadConfig({ CODE_SECRET: TEST_CODE_SECRET, MAX_TEXT_LENGTH: '50' });

function makeDialog() {
  return createDialog({
    database,
    config,
    logger: createLogger('silent'),
    flows: residentFlows,
    delivery: {
      enqueue: async (m) => {
        enqueued.push(...m);
        // Delivered at once: the deliver job records each row's choices as the ones shown.
        for (const q of [...m].sort((a, b) => a.outboxId - b.outboxId)) {
          const [row] = await database.db.select().from(outbox).where(eq(outbox.id, q.outboxId));
          await recordChoicesShown(database.db, { id: row!.id, choices: (row!.payload as Reply).choices });
        }
      },
    },
  });
}

beforeAll(async () => {
  database = await createTestDatabase();
  town = await createSmallTown(database);
  dialog = makeDialog();
});
afterAll(async () => database.drop());

let n = 0;
const newChat = () => new EngineChat(dialog, database, `user-${++n}`);

async function onboardWithInvite(chat: EngineChat, lang: '简体中文' | 'English' | '한국어' = '简体中文') {
  await chat.text('你好');
  await chat.choose(lang);
  const t = lang === 'English' ? en : lang === '한국어' ? ko : zh;
  await chat.choose(t.onboarding.agree);
  await chat.choose(t.onboarding.bindInvite);
  await chat.text(town.inviteCode.toLowerCase());
  return t;
}

describe('onboarding through the dialog engine', () => {
  it('takes a resident from first message to the main menu with an invite code, in each language', async () => {
    for (const lang of ['简体中文', 'English', '한국어'] as const) {
      const chat = newChat();
      const t = await onboardWithInvite(chat, lang);
      const text = await chat.freshText();
      expect(text).toContain(t.onboarding.privacyNotice);
      expect(text).toContain('3号楼 · 2单元 · 301');
      expect(text).toContain(t.dialog.menuTitle);
      const [person] = await database.db.select().from(people).where(eq(people.id, (await chat.personId())!));
      expect(person!.householdStatus).toBe('bound');
      expect(person!.householdId).toBe(town.households[0]!.id);
      expect(person!.locale).toBe(lang === 'English' ? 'en' : lang === '한국어' ? 'ko' : 'zh-CN');
    }
    expect(enqueued.length).toBeGreaterThan(0);
  });

  it('refuses a wrong invite code clearly and binds nothing', async () => {
    const chat = newChat();
    await chat.text('hi');
    await chat.choose('English');
    await chat.choose(en.onboarding.agree);
    await chat.choose(en.onboarding.bindInvite);
    await chat.fresh();
    await chat.text('H-2222-2222');
    expect(await chat.freshText()).toBe(en.onboarding.inviteInvalid);
    const [person] = await database.db.select().from(people).where(eq(people.id, (await chat.personId())!));
    expect(person!.householdStatus).toBe('none');
  });

  it('keeps asking for consent until the person agrees, and works by numbered replies', async () => {
    const chat = newChat();
    await chat.text('hello');
    await chat.text('3'); // English, by number
    await chat.text('2'); // decline
    expect(await chat.freshText()).toContain(en.onboarding.declined);
    await chat.text('menu'); // still onboarding: the engine keeps them in it
    expect(await chat.freshText()).toContain(en.onboarding.welcome);
    await chat.text('3');
    await chat.text('1'); // agree
    expect(await chat.freshText()).toContain(en.onboarding.consentThanks);
    await chat.text('9');
    expect(await chat.freshText()).toBe(en.dialog.numberOutOfRange({ max: 3 }));
  });

  it('goes back one step with 返回 and shows that step again', async () => {
    const chat = newChat();
    await chat.text('你好');
    await chat.choose('简体中文');
    await chat.choose(zh.onboarding.agree);
    await chat.choose(zh.onboarding.bindFind);
    await chat.choose('民主街道');
    await chat.fresh();
    await chat.text('返回');
    const replies = await chat.fresh();
    expect(replies.map((r) => r.text)).toEqual([zh.dialog.back, zh.onboarding.pickStreet]);
    await chat.choose('民主街道');
    expect(await chat.freshText()).toBe(zh.onboarding.pickCommunity);
  });

  it('files a claim by street → community → building → unit → room that the grid worker approves', async () => {
    const worker = newChat();
    await onboardWithInvite(worker);
    await worker.text(`/staff ${town.staffCodes.gridWorker}`);
    expect(await worker.freshText()).toContain(zh.staff.bound({ role: zh.staff.role_grid_worker, area: '民主街道 · 幸福社区 · 第一网格' }));

    const outsider = newChat();
    await onboardWithInvite(outsider);
    await outsider.text(`/staff ${town.staffCodes.otherGridWorker}`);

    const resident = newChat();
    await resident.text('你好');
    await resident.choose('简体中文');
    await resident.choose(zh.onboarding.agree);
    await resident.choose(zh.onboarding.bindFind);
    await resident.choose('民主街道');
    await resident.choose('幸福社区');
    await resident.choose('3号楼');
    await resident.choose('2单元');
    await resident.choose('302');
    expect(await resident.freshText()).toContain(zh.onboarding.claimPending({ place: '民主街道 · 幸福社区 · 3号楼 · 2单元 · 302' }));

    const card = (await worker.fresh()).find((r) => r.text.startsWith(zh.onboarding.claimForStaff({ place: '' }).slice(0, 5)));
    expect(card?.choices?.map((c) => c.label)).toEqual([zh.onboarding.approve, zh.onboarding.reject]);
    const approveId = card!.choices![0]!.id;

    // Staff of another grid can't decide it.
    await outsider.fresh();
    await outsider.choice(approveId);
    expect(await outsider.freshText()).toBe(zh.onboarding.notYourArea);

    await worker.text('1'); // the card's first button, by number
    expect(await worker.freshText()).toContain(zh.onboarding.approve);
    expect(await resident.freshText()).toContain(zh.onboarding.claimApproved({ place: '民主街道 · 幸福社区 · 3号楼 · 2单元 · 302' }));
    await worker.choice(approveId);
    expect(await worker.freshText()).toBe(zh.onboarding.claimAlreadyDecided);

    const [person] = await database.db.select().from(people).where(eq(people.id, (await resident.personId())!));
    expect(person).toMatchObject({ householdStatus: 'bound', householdId: town.households[1]!.id });
    const claims = await database.db.select().from(householdClaims).where(eq(householdClaims.personId, person!.id));
    expect(claims.map((c) => c.status)).toEqual(['approved']);
  });

  it('makes a staff code single-use, even when two people race for it', async () => {
    const a = newChat();
    const b = newChat();
    await onboardWithInvite(a);
    await onboardWithInvite(b);
    await Promise.all([a.text(`/staff ${town.staffCodes.secretary}`), b.text(`/staff ${town.staffCodes.secretary}`)]);
    const texts = [await a.freshText(), await b.freshText()];
    expect(texts.filter((t) => t.includes(zh.staff.role_community_secretary))).toHaveLength(1);
    expect(texts.filter((t) => t.includes(zh.staff.codeInvalid))).toHaveLength(1);
    const rows = await database.db.select().from(staffAssignments).where(eq(staffAssignments.role, 'community_secretary'));
    expect(rows).toHaveLength(1);
  });

  it('ignores the same message delivered twice', async () => {
    const chat = newChat();
    await chat.text('你好');
    const before = (await chat.all()).length;
    expect(await dialog.handle(chat.lastEvent)).toBe('duplicate');
    expect((await chat.all()).length).toBe(before);
  });

  it('answers over-long, binary and unsupported input without changing the conversation', async () => {
    const chat = newChat();
    await chat.text('你好');
    const [stateBefore] = await database.db.select().from(dialogStates).where(eq(dialogStates.identityId, (await chat.identityId())!));
    await chat.fresh();
    await chat.text('长'.repeat(51));
    await chat.text('abc\u0000\u0001');
    await chat.text('\uD800x');
    await chat.send({ kind: 'unsupported', what: 'sticker' });
    expect((await chat.fresh()).map((r) => r.text)).toEqual([
      zh.dialog.tooLong({ max: 50 }),
      zh.dialog.binary,
      zh.dialog.binary,
      zh.dialog.unsupported({ what: 'sticker' }),
    ]);
    const [stateAfter] = await database.db.select().from(dialogStates).where(eq(dialogStates.identityId, (await chat.identityId())!));
    expect({ flow: stateAfter!.flow, step: stateAfter!.step, choices: stateAfter!.choices }).toEqual({
      flow: stateBefore!.flow,
      step: stateBefore!.step,
      choices: stateBefore!.choices,
    });
    expect(await dialog.handle({ channel: 'web', userRef: 'x' })).toBe('invalid');
  });

  it('keeps the conversation across a restart of the engine', async () => {
    const chat = newChat();
    await chat.text('hi');
    await chat.choose('English');
    const restarted = new EngineChat(makeDialog(), database, chat.userRef);
    await restarted.fresh();
    await restarted.text('1'); // agree, answered by the new engine from the saved state
    expect(await restarted.freshText()).toContain(en.onboarding.consentThanks);
  });

  it('switches language from anywhere and shows help', async () => {
    const chat = newChat();
    await onboardWithInvite(chat);
    await chat.fresh();
    await chat.text('language');
    await chat.choose('한국어');
    expect(await chat.freshText()).toContain(ko.onboarding.languageChanged);
    await chat.text('도움말');
    expect(await chat.freshText()).toContain(ko.dialog.help({ menu: '' }).split('\n')[0]);
  });

  it('shows masked personal data with /mydata and erases it on request', async () => {
    const chat = newChat();
    await onboardWithInvite(chat);
    const personId = (await chat.personId())!;
    await database.db.update(people).set({ phone: '13812345678' }).where(eq(people.id, personId));
    await chat.fresh();
    await chat.text('/mydata');
    const shown = await chat.freshText();
    expect(shown).toContain('138****5678');
    expect(shown).not.toContain('13812345678');
    expect(shown).toContain('3号楼 · 2单元 · 301');
    await chat.choose(zh.privacy.delete);
    await chat.choose(zh.privacy.confirmYes);
    expect(await chat.freshText()).toContain(zh.privacy.deleted);
    const [erased] = await database.db.select().from(people).where(eq(people.id, personId));
    expect(erased).toMatchObject({ phone: null, householdId: null, householdStatus: 'none' });
    expect(erased!.erasedAt).not.toBeNull();
    expect(await chat.personId()).not.toBe(personId);
    const audits = await database.db.select().from(auditLog).where(eq(auditLog.actorId, personId));
    expect(audits.map((a) => a.action)).toEqual(expect.arrayContaining(['privacy.view_own', 'privacy.erase']));
    await chat.text('你好');
    expect(await chat.freshText()).toContain(zh.onboarding.welcome);
  });

  it('serialises 20 concurrent messages from one person into ordered replies', async () => {
    const chat = newChat();
    await chat.text('hi');
    await chat.fresh();
    await Promise.all(Array.from({ length: 20 }, () => chat.text('帮助')));
    const rows = await database.db.select().from(inboundMessages);
    expect(rows.length).toBeGreaterThan(20);
    expect((await chat.fresh()).length).toBe(20);
    const sent = await database.db.select().from(outbox);
    expect(new Set(sent.map((r) => r.id)).size).toBe(sent.length);
  });
});
