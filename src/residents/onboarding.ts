import { eq } from 'drizzle-orm';
import { consents, people } from '../../db/schema/index.js';
import { LOCALES, type Locale } from '../config.js';
import type { Flow, FlowContext, StepOutcome } from '../dialog/flow.js';
import { LANGUAGE_NAMES } from '../i18n/onboarding.js';
import { CLAIM_APPROVE, CLAIM_REJECT, bindingOptions, bindingSteps } from './binding-steps.js';
import { ClaimAlreadyDecided, NotYourArea, decideClaim, placeLabel } from './household.js';

/** Version of the privacy notice a consent row refers to; bump when the text changes. */
export const PRIVACY_NOTICE_VERSION = '2026-11';

function languageChoices() {
  return LOCALES.map((l) => ({ id: `lang.${l}`, label: LANGUAGE_NAMES[l] }));
}

function privacyPrompt(ctx: FlowContext) {
  const t = ctx.t.onboarding;
  ctx.reply({
    text: t.privacyNotice,
    choices: [
      { id: 'consent.yes', label: t.agree },
      { id: 'consent.no', label: t.decline },
    ],
  });
}

async function setLocale(ctx: FlowContext, locale: Locale) {
  await ctx.tx.update(people).set({ locale }).where(eq(people.id, ctx.person.id));
  ctx.person.locale = locale;
}

function pickedLocale(input: Parameters<Flow['steps'][string]>[1]): Locale | undefined {
  if (input.kind !== 'choice') return undefined;
  return LOCALES.find((l) => input.choice === `lang.${l}`);
}

/** 入驻: language → privacy notice and consent → household binding → main menu. */
export const onboardingFlow: Flow = {
  name: 'onboarding',
  async start(ctx) {
    ctx.reply({ text: ctx.t.onboarding.welcome, choices: languageChoices() });
    return { next: 'language' };
  },
  steps: {
    async language(ctx, input) {
      const locale = pickedLocale(input);
      if (!locale) {
        ctx.reply({ text: ctx.t.onboarding.welcome, choices: languageChoices() });
        return { next: 'language' };
      }
      await setLocale(ctx, locale);
      privacyPrompt(ctx);
      return { next: 'consent' };
    },
    async consent(ctx, input): Promise<StepOutcome> {
      const choice = input.kind === 'choice' ? input.choice : '';
      if (choice === 'consent.yes') {
        await ctx.tx
          .insert(consents)
          .values({ personId: ctx.person.id, noticeVersion: PRIVACY_NOTICE_VERSION, channel: ctx.identity.channel });
        ctx.person.consented = true;
        await ctx.audit('consent.grant', 'person', ctx.person.id, { noticeVersion: PRIVACY_NOTICE_VERSION });
        // Staff (bound with a code) are not asked to bind a household; residents who already have one are not asked again.
        if (ctx.person.householdStatus !== 'none' || ctx.person.staff.length > 0) return { done: true };
        ctx.reply(bindingOptions(ctx));
        return { next: 'bind' };
      }
      if (choice === 'consent.no') ctx.reply({ text: ctx.t.onboarding.declined });
      privacyPrompt(ctx);
      return { next: 'consent' };
    },
    ...bindingSteps,
  },
};

/** 语言: switch language from anywhere. */
export const languageFlow: Flow = {
  name: 'language',
  commands: { words: ['语言', '語言', 'language', '언어', '/lang', '/language'] },
  menu: [{ id: 'menu.language', label: (t) => t.onboarding.menuLanguage, visible: () => true, order: 90, section: 'settings' }],
  async start(ctx) {
    ctx.reply({ text: ctx.t.onboarding.welcome, choices: languageChoices() });
    return { next: 'pick' };
  },
  steps: {
    async pick(ctx, input) {
      const locale = pickedLocale(input);
      if (!locale) {
        ctx.reply({ text: ctx.t.onboarding.welcome, choices: languageChoices() });
        return { next: 'pick' };
      }
      await setLocale(ctx, locale);
      ctx.reply({ text: ctx.t.onboarding.languageChanged });
      // Someone who switched language mid-onboarding carries on with it.
      return ctx.person.consented ? { done: true } : { goto: 'onboarding' };
    },
  },
};

async function decide(ctx: FlowContext, arg: string, approve: boolean) {
  const t = ctx.t.onboarding;
  const claimId = Number(arg);
  if (!Number.isSafeInteger(claimId)) return;
  try {
    const { personId, householdId } = await decideClaim(ctx.tx, {
      claimId,
      staffId: ctx.person.id,
      staffUnitIds: ctx.person.staff.map((s) => s.orgUnitId),
      approve,
      now: ctx.now,
    });
    const place = await placeLabel(ctx.tx, householdId);
    await ctx.notify(personId, (rt) => ({
      text: approve ? rt.onboarding.claimApproved({ place }) : rt.onboarding.claimRejected({ place }),
    }));
    await ctx.audit(approve ? 'household.claim_approve' : 'household.claim_reject', 'household_claim', String(claimId));
    ctx.reply({ text: t.claimDecidedStaff({ decision: `${approve ? t.approve : t.reject} · ${place}` }) });
  } catch (err) {
    if (err instanceof NotYourArea) ctx.reply({ text: t.notYourArea });
    else if (err instanceof ClaimAlreadyDecided) ctx.reply({ text: t.claimAlreadyDecided });
    else throw err;
  }
}

/** 绑定住户 from the menu, for residents who skipped it or were rejected; also owns the claim buttons. */
export const householdFlow: Flow = {
  name: 'household',
  menu: [
    {
      id: 'menu.household',
      label: (t) => t.onboarding.menuBind,
      visible: (p) => p.consented && p.householdStatus === 'none',
      order: 70,
    },
  ],
  async start(ctx) {
    ctx.reply({ ...bindingOptions(ctx), text: ctx.t.onboarding.menuBind });
    return { next: 'bind' };
  },
  steps: bindingSteps,
  actions: {
    [CLAIM_APPROVE]: (ctx, arg) => decide(ctx, arg, true),
    [CLAIM_REJECT]: (ctx, arg) => decide(ctx, arg, false),
  },
};
