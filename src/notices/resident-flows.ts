import type { Flow, FlowContext, PersonView, StepOutcome } from '../dialog/flow.js';
import { groupsOf, addMembership, removeMembership, SELF_DECLARABLE } from '../audience/groups.js';
import { mutedTopicsOf, setMuted } from '../audience/preferences.js';
import { GROUPS, groupTogglePress, MENU, PREFS, prefPress, readButton, ACTION } from './buttons.js';
import { latestUnread, noticeTextIn, recordRead } from './commands.js';
import { recentNoticesFor } from './queries.js';
import { formatLocal, NOTICE_CATEGORIES, topicOf, isUrgent } from './rules.js';

/** What residents do with notices: read the recent ones, confirm (收到), choose categories and groups. */

const resident = (p: PersonView) => p.consented && p.householdStatus === 'bound';
const choiceOf = (input: { kind: string; choice?: string }) => (input.kind === 'choice' ? input.choice : undefined);

/** 收到 pressed under a notice (or answered by a typed 收到): counted once; the person stays where they were. */
async function confirmRead(ctx: FlowContext, noticeId: string | undefined, via: 'button' | 'reply'): Promise<void> {
  const t = ctx.t.notices;
  const ok = noticeId !== undefined && (await recordRead(ctx.tx, noticeId, ctx.person.id, via, ctx.now));
  ctx.reply({ text: ok ? t.thanksRead : t.nothingToConfirm });
}

export function createResidentNoticeFlows(opts: { timeZone: string }): Flow[] {
  /** 最新通知 from the menu, with 收到 for the unread ones. */
  const recent: Flow = {
    name: 'notices',
    menu: [{ id: MENU.recent, label: (t) => t.notices.menuRecent, visible: resident, order: 30, section: 'notices' }],
    actions: {
      [ACTION.read]: async (ctx, noticeId) => confirmRead(ctx, noticeId, ctx.identity.channel === 'wechat' ? 'reply' : 'button'),
    },
    async start(ctx) {
      const t = ctx.t.notices;
      const items = await recentNoticesFor(ctx.tx, ctx.person.id, 5);
      if (items.length === 0) {
        ctx.reply({ text: t.recentEmpty });
        return { done: true };
      }
      // On the web the list is the page the notice is read on: opening it counts as read (已读).
      const viewed = ctx.identity.channel === 'web';
      for (const n of items) {
        if (viewed && !n.read && n.status !== 'withdrawn') await recordRead(ctx.tx, n.id, ctx.person.id, 'web', ctx.now);
        const mark = n.status === 'withdrawn' ? t.markWithdrawn : `${n.correction ? t.markCorrected : ''}${n.read ? '' : t.markUnread}`;
        const text = noticeTextIn(n, ctx.person.locale);
        const head = t.recentItem({ date: formatLocal(n.releasedAt, opts.timeZone).slice(5), category: t[`category_${n.category}`], title: text.title, mark });
        const body = n.status === 'withdrawn' ? '' : `\n${text.body}${n.correction ? `\n${t.correction({ title: '', correction: n.correction }).trim()}` : ''}`;
        const unread = !viewed && !n.read && n.status !== 'withdrawn';
        ctx.reply({ text: `${head}${body}`, choices: unread && ctx.identity.channel !== 'wechat' ? [{ id: readButton(n.id), label: t.received }] : undefined });
      }
      return { done: true, silent: true };
    },
    steps: {},
  };

  /** A typed 收到 (WeChat, or anyone): confirms the latest notice they have not confirmed yet. */
  const ack: Flow = {
    name: 'noticeAck',
    commands: { words: ['收到', '已收到', '수신', 'got it', 'received'] },
    async start(ctx) {
      await confirmRead(ctx, await latestUnread(ctx.tx, ctx.person.id), 'reply');
      return { done: true, silent: true };
    },
    steps: {},
  };

  /** 通知设置: one toggle per category; 应急 is shown locked on. */
  async function showPrefs(ctx: FlowContext): Promise<StepOutcome> {
    const t = ctx.t.notices;
    const muted = await mutedTopicsOf(ctx.tx, ctx.person.id, 'notice.');
    const choices = NOTICE_CATEGORIES.filter((c) => !isUrgent(c)).map((c) => {
      const name = t[`category_${c}`];
      return { id: PREFS.toggle(c), label: muted.has(topicOf(c)) ? t.switchedOff({ name }) : t.switchedOn({ name }) };
    });
    ctx.reply({ text: `${t.prefsIntro}\n${t.groupKept({ name: t.category_emergency })}`, choices: [...choices, { id: PREFS.done, label: t.done }] });
    return { next: 'toggle' };
  }
  const prefs: Flow = {
    name: 'noticePrefs',
    menu: [{ id: MENU.prefs, label: (t) => t.notices.menuPrefs, visible: resident, order: 31, section: 'notices' }],
    start: showPrefs,
    steps: {
      async toggle(ctx, input) {
        if (choiceOf(input) === PREFS.done) return { done: true };
        const parsed = prefPress.safeParse(choiceOf(input));
        if (parsed.success && !isUrgent(parsed.data)) {
          const topic = topicOf(parsed.data);
          const muted = await mutedTopicsOf(ctx.tx, ctx.person.id, topic);
          await setMuted(ctx.tx, ctx.person.id, topic, !muted.has(topic));
        }
        return showPrefs(ctx);
      },
    },
  };

  /** 我的群体: the groups a resident may declare themselves; staff-kept ones are shown, locked. */
  async function showGroups(ctx: FlowContext): Promise<StepOutcome> {
    const t = ctx.t.notices;
    const mine = await groupsOf(ctx.tx, { id: ctx.person.id, householdId: ctx.person.householdId });
    const kept = mine.filter((g) => g.source === 'staff' || g.viaHousehold).map((g) => t.groupKept({ name: t[`group_${g.group}`] }));
    const choices = SELF_DECLARABLE.filter((g) => !mine.some((m) => m.group === g && (m.source === 'staff' || m.viaHousehold))).map((g) => {
      const name = t[`group_${g}`];
      return { id: GROUPS.toggle(g), label: mine.some((m) => m.group === g) ? t.switchedOn({ name }) : t.switchedOff({ name }) };
    });
    ctx.reply({ text: [t.groupsIntro, ...kept].join('\n'), choices: [...choices, { id: GROUPS.done, label: t.done }] });
    return { next: 'toggle' };
  }
  const groups: Flow = {
    name: 'noticeGroups',
    menu: [{ id: MENU.groups, label: (t) => t.notices.menuGroups, visible: resident, order: 32, section: 'notices' }],
    start: showGroups,
    steps: {
      async toggle(ctx, input) {
        if (choiceOf(input) === GROUPS.done) return { done: true };
        const parsed = groupTogglePress.safeParse(choiceOf(input));
        if (parsed.success && SELF_DECLARABLE.includes(parsed.data)) {
          const subject = { personId: ctx.person.id };
          const removed = await removeMembership(ctx.tx, parsed.data, subject, { source: 'self' });
          if (!removed) await addMembership(ctx.tx, parsed.data, subject, { personId: ctx.person.id, source: 'self' });
          await ctx.audit(removed ? 'audience.leave' : 'audience.join', 'person', ctx.person.id, { group: parsed.data });
        }
        return showGroups(ctx);
      },
    },
  };

  return [recent, ack, prefs, groups];
}
