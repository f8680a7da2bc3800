import { z } from 'zod';
import type { InboundPayload } from '../dialog/events.js';
import type { Flow, FlowContext, PersonView, StepOutcome } from '../dialog/flow.js';
import { MENU, TOPIC, topicPress } from './buttons.js';
import { commentBody, commentOnTopic, communityOf, getTopic, proposeTopic, rankedTopics, recentComments, supportTopic, topicBody, topicTitle } from './topics.js';

/** 议题征集 for residents: the community's topics by support → one topic (support, comment) or propose a new one. */

const resident = (p: PersonView) => p.consented && p.householdStatus === 'bound' && p.householdId !== null;
const choiceOf = (input: InboundPayload) => (input.kind === 'choice' ? input.choice : undefined);
const textOf = (input: InboundPayload) => (input.kind === 'text' ? input.text.trim() : '');
const onTopic = z.object({ topicId: z.number().int().positive() });

export function createTopicFlow(): Flow {
  async function showList(ctx: FlowContext): Promise<StepOutcome> {
    const t = ctx.t.consultations;
    const communityId = ctx.person.householdId ? await communityOf(ctx.tx, ctx.person.householdId) : undefined;
    if (!communityId) {
      ctx.reply({ text: t.ineligible_not_bound });
      return { done: true, silent: true };
    }
    const topics = await rankedTopics(ctx.tx, communityId, 8);
    ctx.reply({
      text: `${t.topicsIntro}${topics.length ? '' : `\n${t.topicsEmpty}`}`,
      choices: [...topics.map((p) => ({ id: TOPIC.view(p.id), label: t.topicItem({ title: p.title, supports: p.supports, status: t[`topicStatus_${p.status}`] }) })), { id: TOPIC.propose, label: t.topicPropose }],
    });
    return { next: 'list' };
  }

  async function showTopic(ctx: FlowContext, topicId: number): Promise<StepOutcome> {
    const t = ctx.t.consultations;
    const topic = await getTopic(ctx.tx, topicId);
    if (!topic) return showList(ctx);
    const comments = await recentComments(ctx.tx, topicId);
    ctx.reply({
      text: t.topicActions({ title: topic.title, body: topic.body, supports: topic.supports, comments: comments.map((c) => `\n💬 ${c}`).join('') }),
      choices: [{ id: TOPIC.support, label: t.topicSupport }, { id: TOPIC.comment, label: t.topicComment }, { id: TOPIC.back, label: t.topicBack }],
    });
    return { next: 'topic', data: { topicId } };
  }

  return {
    name: 'topics',
    menu: [{ id: MENU.topics, label: (t) => t.consultations.menuTopics, visible: resident, order: 51, section: 'consultations' }],
    commands: { words: ['议题', '/topics', 'topics', '의제'] },
    start: showList,
    steps: {
      async list(ctx, input) {
        if (choiceOf(input) === TOPIC.propose) {
          ctx.reply({ text: ctx.t.consultations.topicAskTitle });
          return { next: 'title' };
        }
        const id = topicPress.safeParse(choiceOf(input));
        return id.success ? showTopic(ctx, id.data) : showList(ctx);
      },
      async title(ctx, input) {
        const title = topicTitle.safeParse(textOf(input));
        if (!title.success) {
          ctx.reply({ text: `${ctx.t.consultations.invalidText}\n${ctx.t.consultations.topicAskTitle}` });
          return { next: 'title' };
        }
        ctx.reply({ text: ctx.t.consultations.topicAskBody });
        return { next: 'body', data: { title: title.data } };
      },
      async body(ctx, input, data) {
        const { title } = z.object({ title: z.string() }).parse(data);
        const body = topicBody.safeParse(textOf(input));
        if (!body.success) {
          ctx.reply({ text: `${ctx.t.consultations.invalidText}\n${ctx.t.consultations.topicAskBody}` });
          return { next: 'body', data };
        }
        const topic = await proposeTopic(ctx.tx, ctx.person.id, ctx.person.householdId!, { title, body: body.data }, ctx.now);
        await ctx.audit('topic.propose', 'topic', String(topic.id));
        ctx.reply({ text: ctx.t.consultations.topicProposed({ title }) });
        return { done: true, silent: true };
      },
      async topic(ctx, input, data) {
        const { topicId } = onTopic.parse(data);
        const choice = choiceOf(input);
        if (choice === TOPIC.support) {
          const added = await supportTopic(ctx.tx, topicId, ctx.person.id, ctx.person.householdId!, ctx.now);
          ctx.reply({ text: added ? ctx.t.consultations.topicSupported : ctx.t.consultations.topicAlreadySupported });
          return showTopic(ctx, topicId);
        }
        if (choice === TOPIC.comment) {
          ctx.reply({ text: ctx.t.consultations.topicAskComment });
          return { next: 'comment', data: { topicId } };
        }
        return showList(ctx);
      },
      async comment(ctx, input, data) {
        const { topicId } = onTopic.parse(data);
        const body = commentBody.safeParse(textOf(input));
        if (!body.success) {
          ctx.reply({ text: `${ctx.t.consultations.invalidText}\n${ctx.t.consultations.topicAskComment}` });
          return { next: 'comment', data };
        }
        await commentOnTopic(ctx.tx, topicId, ctx.person.id, ctx.person.householdId!, body.data, ctx.now);
        ctx.reply({ text: ctx.t.consultations.topicCommented });
        return showTopic(ctx, topicId);
      },
    },
  };
}
