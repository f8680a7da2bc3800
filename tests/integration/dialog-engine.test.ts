import { recordChoicesShown } from '../../src/outbox/shown.js';
import { and, asc, eq, gt, sql } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, channelIdentities, consents, dialogStates, inboundMessages, outbox, people } from '../../db/schema/index.js';
import { loadConfig } from '../../src/config.js';
import { createDialog, type Dialog } from '../../src/dialog/engine.js';
import type { Channel } from '../../src/dialog/events.js';
import type { Flow } from '../../src/dialog/flow.js';
import type { Reply } from '../../src/dialog/reply.js';
import { messages } from '../../src/i18n/index.js';
import type { Logger } from '../../src/log.js';
import type { DeliveryQueue, QueuedMessage } from '../../src/outbox/outbox.js';
import { createTestDatabase, TEST_CODE_SECRET } from '../support/db.js';

/*
 * The engine against real PostgreSQL, driven by small flows defined here: each exercises one
 * part of the contract in src/dialog/flow.ts (steps, goto, done, actions, commands, notify).
 */

const zh = messages('zh-CN');
const en = messages('en');
const ko = messages('ko');

const onboarding: Flow = {
  name: 'onboarding',
  async start(ctx) {
    ctx.reply({ text: 'welcome', choices: [{ id: 'agree', label: 'Agree' }] });
    return { next: 'consent' };
  },
  steps: {
    async consent(ctx, input) {
      if (input.kind === 'choice' && input.choice === 'agree') {
        await ctx.tx.insert(consents).values({ personId: ctx.person.id, noticeVersion: 't', channel: ctx.identity.channel });
        ctx.person.consented = true;
        return { done: true };
      }
      ctx.reply({ text: 'welcome', choices: [{ id: 'agree', label: 'Agree' }] });
      return { next: 'consent' };
    },
  },
};

const language: Flow = {
  name: 'language',
  commands: { words: ['语言', 'language'] },
  async start(ctx) {
    ctx.reply({ text: 'pick', choices: [{ id: 'lang.en', label: 'English' }, { id: 'lang.ko', label: '한국어' }] });
    return { next: 'pick' };
  },
  steps: {
    async pick(ctx, input) {
      const locale = input.kind === 'choice' && input.choice === 'lang.ko' ? 'ko' : 'en';
      await ctx.tx.update(people).set({ locale }).where(eq(people.id, ctx.person.id));
      ctx.person.locale = locale;
      return ctx.person.consented ? { done: true } : { goto: 'onboarding' };
    },
  },
};

const colours = [
  { id: 'c.red', label: 'Red' },
  { id: 'c.blue', label: 'Blue' },
];

const form: Flow = {
  name: 'form',
  menu: [{ id: 'menu.form', label: () => 'Form', visible: () => true, order: 2 }],
  commands: { words: ['/form', '表格'] },
  async start(ctx) {
    ctx.reply({ text: 'Q1 name?' });
    return { next: 'name' };
  },
  steps: {
    async name(ctx, input) {
      if (input.kind !== 'text') {
        ctx.reply({ text: 'Q1 name?' });
        return { next: 'name' };
      }
      ctx.reply({ text: 'Q2 colour?', choices: colours });
      return { next: 'colour', data: { name: input.text } };
    },
    async colour(ctx, input, data) {
      const picked = input.kind === 'choice' ? colours.find((c) => c.id === input.choice) : undefined;
      if (!picked) {
        ctx.reply({ text: 'Q2 colour?', choices: colours });
        return { next: 'colour', data };
      }
      ctx.reply({ text: `Q3 ${String(data.name)} ${picked.label}?`, choices: [{ id: 'yes', label: 'Yes' }] });
      return { next: 'confirm', data: { ...data, colour: picked.id } };
    },
    async confirm(ctx, input, data) {
      await ctx.audit('form.saved', 'form', String(data.name), { colour: data.colour });
      ctx.reply({ text: 'saved' });
      return { done: true };
    },
  },
};

const cards: Flow = {
  name: 'cards',
  menu: [
    { id: 'menu.cards', label: () => 'Cards', visible: () => true, order: 1 },
    { id: 'menu.bound', label: () => 'Household', visible: (p) => p.householdStatus === 'bound', order: 3 },
  ],
  async start(ctx) {
    ctx.reply({ text: 'cards', choices: [{ id: 'ca:7', label: 'Card 7' }, { id: 'cj:7', label: 'Note 7' }] });
    return { done: true, silent: true };
  },
  steps: {
    async note(ctx, input, data) {
      await ctx.audit('card.note', 'card', String(data.card));
      ctx.reply({ text: `noted ${String(data.card)}` });
      return { done: true };
    },
  },
  actions: {
    ca: async (ctx, arg) => void ctx.reply({ text: `card ${arg}` }),
    cj: async (ctx, arg) => {
      ctx.reply({ text: `note for card ${arg}?` });
      return { next: 'note', data: { card: arg } };
    },
  },
};

const tools: Flow[] = [
  {
    name: 'boom',
    commands: { words: ['/boom'] },
    async start(ctx) {
      await ctx.audit('boom.write', 'test', 'x');
      ctx.reply({ text: 'about to fail' });
      throw new Error('kaboom');
    },
    steps: {},
  },
  {
    name: 'code',
    commands: { words: ['/code'], takesArgument: true },
    async start(ctx, args) {
      ctx.reply({ text: `code=${String(args?.argument ?? 'none')}` });
      return { done: true, silent: true };
    },
    steps: {},
  },
  {
    name: 'counter',
    commands: { words: ['/count'] },
    async start(ctx) {
      ctx.reply({ text: 'n=0' });
      return { next: 'tick', data: { n: 0 } };
    },
    steps: {
      async tick(ctx, _input, data) {
        const n = Number(data.n) + 1;
        ctx.reply({ text: `n=${n}` });
        return { next: 'tick', data: { n } };
      },
    },
  },
  {
    name: 'poke',
    commands: { words: ['/poke'], takesArgument: true },
    async start(ctx, args) {
      await ctx.notify(String(args?.argument), () => ({ text: 'poked', choices: [{ id: 'ca:9', label: 'Card 9' }] }));
      ctx.reply({ text: 'sent' });
      return { done: true, silent: true };
    },
    steps: {},
  },
];

/** A step that forgets to answer: the engine must not leave the person in silence. */
const quiet: Flow = {
  name: 'quiet',
  commands: { words: ['/quiet'] },
  async start(ctx) {
    ctx.reply({ text: 'say something', choices: [{ id: 'q.a', label: 'A' }] });
    return { next: 'listen' };
  },
  steps: { listen: async () => ({ next: 'listen' }) },
};

const flows = [onboarding, language, form, cards, quiet, ...tools];

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let dialog: Dialog;
const config = loadConfig({ CODE_SECRET: TEST_CODE_SECRET, MAX_TEXT_LENGTH: '50' });
const logLines: string[] = [];
const logger = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) }) as unknown as Logger;

/** Records what the engine hands to delivery (the delivery queue is a boundary, not under test here). */
class RecordingDelivery implements DeliveryQueue {
  enqueued: QueuedMessage[] = [];
  failing = false;
  async enqueue(items: QueuedMessage[]) {
    if (this.failing) throw new Error('redis down');
    this.enqueued.push(...items);
    // Delivered at once: what the deliver job does once the platform accepted each row.
    for (const m of [...items].sort((a, b) => a.outboxId - b.outboxId)) {
      const [row] = await database.db.select().from(outbox).where(eq(outbox.id, m.outboxId));
      await recordChoicesShown(database.db, { id: row!.id, choices: (row!.payload as Reply).choices });
    }
  }
}
const delivery = new RecordingDelivery();

const makeDialog = () => createDialog({ database, delivery, config, logger, flows });

beforeAll(async () => {
  database = await createTestDatabase();
  dialog = makeDialog();
});
afterAll(async () => database?.drop());

let seq = 0;

/** One chat account talking to the engine; reads its replies back from the outbox. */
class Chat {
  private seen = 0;
  constructor(
    readonly userRef: string,
    readonly channel: Channel = 'telegram',
    readonly languageHint?: string,
  ) {}
  event(payload: Record<string, unknown>, messageRef = `m${++seq}`) {
    return { channel: this.channel, userRef: this.userRef, chatRef: `chat-${this.userRef}`, messageRef, languageHint: this.languageHint, ...payload };
  }
  send(payload: Record<string, unknown>, engine: Dialog = dialog) {
    return engine.handle(this.event(payload));
  }
  text(text: string, engine?: Dialog) {
    return this.send({ kind: 'text', text }, engine);
  }
  choice(choice: string) {
    return this.send({ kind: 'choice', choice });
  }
  async fresh(): Promise<Reply[]> {
    const rows = await database.db
      .select({ id: outbox.id, payload: outbox.payload })
      .from(outbox)
      .where(and(eq(outbox.channel, this.channel), eq(outbox.chatRef, `chat-${this.userRef}`), gt(outbox.id, this.seen)))
      .orderBy(asc(outbox.id));
    if (rows.length) this.seen = rows.at(-1)!.id;
    return rows.map((r) => r.payload as unknown as Reply);
  }
  async texts(): Promise<string[]> {
    return (await this.fresh()).map((r) => r.text);
  }
  async identity() {
    const [row] = await database.db
      .select()
      .from(channelIdentities)
      .where(and(eq(channelIdentities.channel, this.channel), eq(channelIdentities.userRef, this.userRef)));
    return row!;
  }
  async state() {
    const { id } = await this.identity();
    const [row] = await database.db.select().from(dialogStates).where(eq(dialogStates.identityId, id));
    return row;
  }
}

let users = 0;
/** A person who has been through the test onboarding, with the main menu on screen. */
async function onboarded(channel: Channel = 'telegram') {
  const chat = new Chat(`u${++users}`, channel);
  await chat.text('hi');
  await chat.choice('agree');
  await chat.fresh();
  return chat;
}
async function inForm(name = 'Alice') {
  const chat = await onboarded();
  await chat.text('/form');
  await chat.text(name);
  await chat.fresh();
  return chat;
}

describe('dialog engine', () => {
  it('greets a new person in the language of the platform hint and holds them in onboarding', async () => {
    const chat = new Chat('hinted', 'telegram', 'ko-KR');
    expect(await chat.text('안녕')).toBe('handled');
    const [first] = await chat.fresh();
    expect(first).toMatchObject({ text: 'welcome', locale: 'ko', choices: [{ id: 'agree', label: 'Agree' }] });
    // Menu choices, flow commands and actions all lead back to onboarding until consent.
    await chat.choice('menu.form');
    await chat.text('/form');
    await chat.choice('ca:1');
    expect(await chat.texts()).toEqual(['welcome', 'welcome', 'welcome']);
    const unhinted = new Chat('plain', 'telegram', 'ru');
    await unhinted.text('привет');
    expect((await unhinted.fresh())[0]!.locale).toBe('zh-CN');
  });

  it('lets a person switch language and ask for help before onboarding, then carries on with it', async () => {
    const chat = new Chat('lang-first');
    await chat.text('hi');
    await chat.fresh();
    await chat.text('help');
    const [help] = await chat.fresh();
    expect(help!.text).toBe(zh.dialog.help({ menu: '' }).trimEnd());
    expect((await chat.state())).toMatchObject({ flow: 'onboarding', step: 'consent' });
    await chat.text('language');
    expect(await chat.texts()).toEqual(['pick']);
    await chat.text('1');
    const replies = await chat.fresh();
    expect(replies).toEqual([{ text: 'welcome', locale: 'en', choices: [{ id: 'agree', label: 'Agree' }] }]);
    await chat.text('1');
    const [menu] = await chat.fresh();
    expect(menu).toMatchObject({ text: en.dialog.menuTitle, locale: 'en' });
  });

  it('shows the main menu sorted by order with only the entries this person may see', async () => {
    const chat = await onboarded();
    await chat.text('menu');
    const [menu] = await chat.fresh();
    expect(menu!.choices).toEqual([
      { id: 'menu.cards', label: 'Cards' },
      { id: 'menu.form', label: 'Form' },
    ]);
    await database.db.update(people).set({ householdStatus: 'bound' }).where(eq(people.id, (await chat.identity()).personId));
    await chat.text('/MENU');
    expect((await chat.fresh())[0]!.choices!.map((c) => c.id)).toEqual(['menu.cards', 'menu.form', 'menu.bound']);
    expect((await chat.state())!.choices.map((c) => c.id)).toEqual(['menu.cards', 'menu.form', 'menu.bound']);
    await chat.text('2');
    expect(await chat.texts()).toEqual(['Q1 name?']);
  });

  it('handles a duplicate event once: no second reply, no second delivery', async () => {
    const chat = await onboarded();
    const event = chat.event({ kind: 'text', text: '/form' });
    const before = delivery.enqueued.length;
    expect(await dialog.handle(event)).toBe('handled');
    expect(await dialog.handle(event)).toBe('duplicate');
    expect(await chat.texts()).toEqual(['Q1 name?']);
    expect(delivery.enqueued.length).toBe(before + 1);
    const [row] = await database.db.select().from(outbox).where(eq(outbox.id, delivery.enqueued.at(-1)!.outboxId));
    expect(row!.identityId).toBe((await chat.identity()).id);
    expect(await chat.state()).toMatchObject({ flow: 'form', step: 'name' });
  });

  it('rejects events that do not parse, without touching the database', async () => {
    const count = async () => (await database.db.select({ n: sql<number>`count(*)::int` }).from(inboundMessages))[0]!.n;
    const before = await count();
    expect(await dialog.handle({})).toBe('invalid');
    expect(await dialog.handle({ channel: 'fax', userRef: 'u', chatRef: 'c', messageRef: 'x1', kind: 'text', text: 'hi' })).toBe('invalid');
    expect(await dialog.handle({ channel: 'web', userRef: 'u', chatRef: 'c', messageRef: 'x2', kind: 'choice', choice: 'x'.repeat(65) })).toBe('invalid');
    expect(await dialog.handle('not an object')).toBe('invalid');
    expect(await count()).toBe(before);
    expect(logLines.some((l) => l.includes('"messageRef":"x1"') && l.includes('inbound event rejected'))).toBe(true);
  });

  it('answers over-long, binary, empty and unsupported input without changing the conversation', async () => {
    const chat = await inForm();
    const before = await chat.state();
    await chat.text('长'.repeat(51));
    await chat.text('PK\u0003\u0004\u0000');
    await chat.text('broken \uD83D text');
    await chat.text('   ');
    await chat.send({ kind: 'unsupported', what: 'sticker' });
    expect(await chat.texts()).toEqual([
      zh.dialog.tooLong({ max: 50 }),
      zh.dialog.binary,
      zh.dialog.binary,
      zh.dialog.empty,
      zh.dialog.unsupported({ what: 'sticker' }),
    ]);
    const after = await chat.state();
    expect({ ...after, updatedAt: null }).toEqual({ ...before, updatedAt: null });
    // The colour choices are still what a number answers.
    await chat.text('1');
    expect(await chat.texts()).toEqual(['Q3 Alice Red?']);
  });

  it('maps bare numbers (also full-width) to the choices shown and re-lists them when out of range', async () => {
    const chat = await inForm('Bo');
    await chat.text('5');
    const [refusal] = await chat.fresh();
    expect(refusal).toEqual({ text: zh.dialog.numberOutOfRange({ max: 2 }), locale: 'zh-CN', choices: colours });
    expect(await chat.state()).toMatchObject({ flow: 'form', step: 'colour' });
    await chat.text(' ２ ');
    expect(await chat.texts()).toEqual(['Q3 Bo Blue?']);
    await chat.text('1');
    expect(await chat.texts()).toEqual(['saved', zh.dialog.menuTitle]);
    const [audit] = await database.db.select().from(auditLog).where(eq(auditLog.subjectId, 'Bo'));
    expect(audit).toMatchObject({ action: 'form.saved', actorId: (await chat.identity()).personId, details: { colour: 'c.blue' } });
  });

  it('keeps the number keys on the newest question when an answered message is recorded as delivered late', async () => {
    const chat = await inForm('Cy');
    const { id: identityId } = await chat.identity();
    const chatRows = () => database.db.select().from(outbox).where(eq(outbox.identityId, identityId)).orderBy(asc(outbox.id));
    const asked = (await chatRows()).at(-1)!; // Q2 colour? (Red, Blue)
    // The person answers the moment Q2 arrives, before the deliver job has recorded its choices.
    await chat.text('2');
    expect(await chat.texts()).toEqual(['Q3 Cy Blue?']);
    // Now the job records Q2 as delivered: it must not put Red/Blue back under "1".
    expect(await recordChoicesShown(database.db, { id: asked.id, choices: (asked.payload as Reply).choices })).toBe(false);
    expect((await chat.state())!.choices).toEqual([{ id: 'yes', label: 'Yes' }]);
    await chat.text('1');
    expect(await chat.texts()).toEqual(['saved', zh.dialog.menuTitle]);

    // A message queued after the person's last turn (a card from a job) does take the number keys.
    await database.db.transaction(async (tx) => {
      await tx.insert(outbox).values({ identityId, channel: 'telegram', chatRef: `chat-${chat.userRef}`, payload: { text: 'card', choices: [{ id: 'ca:7', label: 'Card 7' }] } });
    });
    const card = (await chatRows()).at(-1)!;
    expect(await recordChoicesShown(database.db, { id: card.id, choices: (card.payload as Reply).choices })).toBe(true);
    expect((await chat.state())!.choices).toEqual([{ id: 'ca:7', label: 'Card 7' }]);
  });

  it('obeys global commands from inside a flow', async () => {
    const chat = await inForm();
    await chat.text('帮助');
    const [help] = await chat.fresh();
    expect(help!.text).toBe(zh.dialog.help({ menu: '· Cards\n· Form' }));
    expect(help!.choices).toBeUndefined();
    await chat.text('2'); // help left the step's choices on screen
    expect(await chat.texts()).toEqual(['Q3 Alice Blue?']);
    await chat.text('取消');
    expect(await chat.texts()).toEqual([zh.dialog.cancelled, zh.dialog.menuTitle]);
    expect(await chat.state()).toMatchObject({ flow: 'menu', step: 'idle' });
    await chat.text('表格');
    await chat.text('메뉴');
    expect(await chat.texts()).toEqual(['Q1 name?', zh.dialog.menuTitle]);
    await chat.text('2');
    await chat.text('/code s-abcd-EFGH');
    expect(await chat.texts()).toEqual(['Q1 name?', 'code=s-abcd-EFGH']);
    expect(await chat.state()).toMatchObject({ flow: 'menu', step: 'idle' });
  });

  it('goes back a step with 返回, re-sending what that step showed, and to the menu from the first step', async () => {
    const chat = await inForm('Cy');
    await chat.text('purple'); // asked again: not a step of its own
    await chat.text('1');
    await chat.fresh();
    await chat.text('返回');
    expect(await chat.fresh()).toEqual([
      { text: zh.dialog.back, locale: 'zh-CN' },
      { text: 'Q2 colour?', locale: 'zh-CN', choices: colours },
    ]);
    await chat.text('back');
    expect(await chat.texts()).toEqual([zh.dialog.back, 'Q1 name?']);
    expect(await chat.state()).toMatchObject({ flow: 'form', step: 'name', choices: [] });
    await chat.text('Dee');
    await chat.text('2');
    expect(await chat.texts()).toEqual(['Q2 colour?', 'Q3 Dee Blue?']);
    await chat.text('뒤로');
    await chat.text('/back');
    await chat.text('返回');
    expect(await chat.texts()).toEqual([zh.dialog.back, 'Q2 colour?', zh.dialog.back, 'Q1 name?', zh.dialog.menuTitle]);
    expect(await chat.state()).toMatchObject({ flow: 'menu', step: 'idle' });
  });

  it('runs action buttons from anywhere and applies their outcome', async () => {
    const chat = await inForm();
    await chat.choice('ca:42');
    expect(await chat.texts()).toEqual(['card 42']);
    expect(await chat.state()).toMatchObject({ flow: 'form', step: 'colour', data: { name: 'Alice' } });
    await chat.text('1'); // the step's choices survived the card button
    expect(await chat.texts()).toEqual(['Q3 Alice Red?']);
    await chat.choice('cj:42');
    expect(await chat.texts()).toEqual(['note for card 42?']);
    expect(await chat.state()).toMatchObject({ flow: 'cards', step: 'note', data: { card: '42' } });
    await chat.text('leaky tap');
    expect(await chat.texts()).toEqual(['noted 42', zh.dialog.menuTitle]);
    // A menu flow that offers action buttons and ends silently: a number presses them.
    await chat.text('1');
    expect(await chat.texts()).toEqual(['cards']);
    await chat.text('1');
    expect(await chat.texts()).toEqual(['card 7']);
  });

  it('keeps the conversation across a new engine instance (restart)', async () => {
    const chat = await inForm('Eve');
    const restarted = makeDialog();
    await chat.text('2', restarted);
    await chat.text('1', restarted);
    expect(await chat.texts()).toEqual(['Q3 Eve Blue?', 'saved', zh.dialog.menuTitle]);
  });

  it('answers an unexpected error with an apology and rolls back what the flow wrote', async () => {
    const chat = await onboarded();
    const { id: identityId } = await chat.identity();
    const before = await chat.state();
    const event = chat.event({ kind: 'text', text: '/boom' });
    logLines.length = 0;
    expect(await dialog.handle(event)).toBe('handled');
    expect(await chat.fresh()).toEqual([{ text: zh.common.apology, locale: 'zh-CN' }]);
    expect(await database.db.select().from(auditLog).where(eq(auditLog.action, 'boom.write'))).toEqual([]);
    expect({ ...(await chat.state()), updatedAt: null }).toEqual({ ...before, updatedAt: null });
    const [inbound] = await database.db.select().from(inboundMessages).where(eq(inboundMessages.messageRef, event.messageRef));
    expect(inbound!.identityId).toBe(identityId);
    expect(await dialog.handle(event)).toBe('duplicate');
    const failure = logLines.find((l) => l.includes('apology'));
    expect(failure).toContain(identityId);
    expect(failure).toContain(event.messageRef);
    expect(logLines.join('\n')).not.toContain('/boom');
  });

  it('logs an enqueue failure and still handles the message (the outbox row stays for the sweep)', async () => {
    const chat = await onboarded();
    delivery.failing = true;
    try {
      expect(await chat.text('/form')).toBe('handled');
    } finally {
      delivery.failing = false;
    }
    const [row] = await database.db.select().from(outbox).where(eq(outbox.chatRef, `chat-${chat.userRef}`)).orderBy(sql`id desc`).limit(1);
    expect(row).toMatchObject({ status: 'pending', payload: { text: 'Q1 name?' } });
    expect(logLines.some((l) => l.includes('enqueue failed') && l.includes(String(row!.id)))).toBe(true);
  });

  it('treats two identities of one person as one person with two conversations', async () => {
    const tg = await onboarded('telegram');
    await tg.text('/form');
    await tg.text('Fay');
    const web = new Chat(`w${++users}`, 'web');
    await web.text('hello');
    const { personId } = await tg.identity();
    // What household/identity linking will do: the web account turns out to be the same person.
    await database.db.update(channelIdentities).set({ personId, blockedAt: new Date() }).where(eq(channelIdentities.id, (await web.identity()).id));
    await web.text('menu');
    expect((await web.identity()).blockedAt).toBeNull();
    expect((await web.fresh()).map((r) => r.text)).toEqual(['welcome', zh.dialog.menuTitle]);
    expect(await tg.state()).toMatchObject({ flow: 'form', step: 'colour' });
    expect(await web.state()).toMatchObject({ flow: 'menu', step: 'idle' });

    // ctx.notify reaches both chats and makes its buttons answerable by number on each.
    const other = await onboarded();
    await other.text(`/poke ${personId}`);
    expect(await other.texts()).toEqual(['sent']);
    await tg.fresh();
    await web.text('1');
    expect(await web.texts()).toEqual(['poked', 'card 9']);
    await tg.text('1');
    expect(await tg.texts()).toEqual(['card 9']);
    expect(await tg.state()).toMatchObject({ flow: 'form', step: 'colour' });
  });

  it('serialises concurrent messages from one person: ordered replies, no lost updates', async () => {
    const chat = await onboarded();
    await chat.text('/count');
    await chat.fresh();
    const results = await Promise.all(Array.from({ length: 20 }, () => chat.text('tick')));
    expect(results.every((r) => r === 'handled')).toBe(true);
    expect(await chat.texts()).toEqual(Array.from({ length: 20 }, (_, i) => `n=${i + 1}`));
    expect((await chat.state())!.data).toMatchObject({ n: 20 });

    const again = chat.event({ kind: 'text', text: 'tick' });
    const dupes = await Promise.all(Array.from({ length: 5 }, () => dialog.handle(again)));
    expect(dupes.filter((r) => r === 'handled')).toHaveLength(1);
    expect(dupes.filter((r) => r === 'duplicate')).toHaveLength(4);
    expect(await chat.texts()).toEqual(['n=21']);
  });

  it("creates one person when a new user's first messages arrive at once", async () => {
    const chat = new Chat(`burst${++users}`);
    const results = await Promise.all(Array.from({ length: 8 }, () => chat.text('hi')));
    expect(results.every((r) => r === 'handled')).toBe(true);
    const identities = await database.db.select().from(channelIdentities).where(eq(channelIdentities.userRef, chat.userRef));
    expect(identities).toHaveLength(1);
    // The first starts onboarding; the others answer its step.
    expect(await chat.texts()).toEqual(Array.from({ length: 8 }, () => 'welcome'));
  });

  it('never leaves a person in silence when a step says nothing', async () => {
    const chat = await onboarded();
    await chat.text('/quiet');
    await chat.text('blah');
    expect(await chat.texts()).toEqual(['say something', zh.dialog.notUnderstood, 'say something']);
    await chat.text('1');
    expect(await chat.fresh()).toEqual([
      { text: zh.dialog.notUnderstood, locale: 'zh-CN' },
      { text: 'say something', locale: 'zh-CN', choices: [{ id: 'q.a', label: 'A' }] },
    ]);
    expect(await chat.state()).toMatchObject({ flow: 'quiet', step: 'listen', choices: [{ id: 'q.a', label: 'A' }] });
  });

  it('speaks to each person in their own language', async () => {
    const chat = new Chat(`k${++users}`, 'telegram', 'ko');
    await chat.text('hi');
    await chat.choice('agree');
    await chat.text('/nothing-like-this');
    expect(await chat.fresh()).toEqual([
      { text: 'welcome', locale: 'ko', choices: [{ id: 'agree', label: 'Agree' }] },
      { text: ko.dialog.menuTitle, locale: 'ko', choices: [{ id: 'menu.cards', label: 'Cards' }, { id: 'menu.form', label: 'Form' }] },
      { text: ko.dialog.notUnderstood, locale: 'ko' },
      { text: ko.dialog.menuTitle, locale: 'ko', choices: [{ id: 'menu.cards', label: 'Cards' }, { id: 'menu.form', label: 'Form' }] },
    ]);
  });
});
