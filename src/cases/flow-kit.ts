import { and, desc, eq } from 'drizzle-orm';
import { householdClaims } from '../../db/schema/index.js';
import { z } from 'zod';
import type { MediaBytes } from '../../bots/channel.js';
import type { Channel, InboundPayload } from '../dialog/events.js';
import type { FlowContext, StepOutcome } from '../dialog/flow.js';
import type { Messages } from '../i18n/index.js';
import { ancestorOfKind, getUnit } from '../org/tree.js';
import { PhotoRejected, type PhotoProblem as PhotoRefusal } from '../photos/process.js';
import { storePhoto, type PhotoStore } from '../photos/store.js';
import type { CaseSettings } from './effects.js';
import { CaseError } from './record.js';
import { categoryName } from './queries.js';
import { flowEffects, type CaseScheduler } from './run.js';
import type { Rating } from './rules.js';

export interface CaseFlowDeps {
  scheduler: CaseScheduler;
  photos: PhotoStore;
  /** The bytes behind an inbound photo, from the channel it came in on. */
  fetchMedia(channel: Channel, fileRef: string): Promise<MediaBytes>;
  settings: CaseSettings & { maxPhotos: number };
}

export const note = z.string().trim().min(2).max(1000);
export const uuid = z.uuid();
export const RATINGS: Record<string, Rating> = { s: 'satisfied', b: 'basically_satisfied', u: 'unsatisfied' };

export type StoredPhoto = { storageKey: string; mimeType: string; bytes: number; sha256: string; thumbnailKey: string };

/**
 * Why a photo was not kept: the channel did not deliver it, the photo pipeline refused it (with
 * its reason: too large, not an image, too many pixels, broken), or the store failed.
 */
export type PhotoProblem = { problem: 'not_received' } | { problem: 'refused'; reason: PhotoRefusal } | { problem: 'unavailable' };

export function isPhotoProblem(p: StoredPhoto | PhotoProblem): p is PhotoProblem {
  return 'problem' in p;
}

/** "没能收到照片，请重发" when the download failed; the format rule only when the file was refused. */
export function photoProblemText(t: Messages, p: PhotoProblem): string {
  if (p.problem === 'not_received') return t.report.photoNotReceived;
  return p.problem === 'refused' ? t.cases[`photo_${p.reason}`] : t.cases.photo_unavailable;
}

/** How to send a photo on this channel (📎 on Telegram, ⊕ on WeChat, 📷 on the web chat). */
export function photoHow(t: Messages, channel: Channel): string {
  return t.report[`photoHow_${channel}`];
}

export function choiceOf(input: InboundPayload): string | undefined {
  return input.kind === 'choice' ? input.choice : undefined;
}

/** A CaseError as a clear answer; anything else is a bug and goes to the engine's apology. */
export function explain(ctx: FlowContext, err: unknown): StepOutcome {
  if (!(err instanceof CaseError)) throw err;
  const t = ctx.t.cases;
  ctx.reply({
    text: err.reason === 'not_found' ? t.caseNotFound : err.reason === 'not_yours' ? t.notYours : t.notAllowed({ status: err.status ? t[`status_${err.status}`] : '' }),
  });
  return { done: true, silent: true };
}

/** The household a resident reports from; `verified` false while their claim awaits the grid worker. */
export interface Home {
  communityId: number;
  householdId: number;
  buildingId: number | null;
  verified: boolean;
}

/** Whether this person may start a report: bound to a household, or with a claim pending. */
export function mayReport(p: { consented: boolean; householdStatus: 'none' | 'pending' | 'bound' }): boolean {
  return p.consented && p.householdStatus !== 'none';
}

/** What every case flow shares: settings, the Effects sink, photos, the resident's home, labels. */
export interface FlowKit {
  deps: CaseFlowDeps;
  settings: CaseFlowDeps['settings'];
  fx(ctx: FlowContext): ReturnType<typeof flowEffects>;
  savePhoto(ctx: FlowContext, input: Extract<InboundPayload, { kind: 'photo' }>): Promise<StoredPhoto | PhotoProblem>;
  communityOf(ctx: FlowContext): Promise<Home | undefined>;
  label(ctx: FlowContext, names: { 'zh-CN': string; ko?: string; en?: string }): string;
}

export function createFlowKit(deps: CaseFlowDeps): FlowKit {
  const settings = deps.settings;
  const fx = (ctx: FlowContext) => flowEffects(ctx, deps.scheduler);

  async function savePhoto(ctx: FlowContext, input: Extract<InboundPayload, { kind: 'photo' }>): Promise<StoredPhoto | PhotoProblem> {
    let media;
    try {
      media = await deps.fetchMedia(ctx.identity.channel, input.photo.fileRef);
    } catch (err) {
      // The platform did not hand the file over (expired, network): not the resident's photo's fault.
      ctx.logger.warn({ err: (err as Error).message }, 'photo not downloaded');
      return { problem: 'not_received' };
    }
    try {
      const stored = await storePhoto(deps.photos, media.bytes);
      return { storageKey: stored.key, mimeType: stored.mimeType, bytes: stored.bytes, sha256: stored.sha256, thumbnailKey: stored.thumbnailKey };
    } catch (err) {
      if (err instanceof PhotoRejected) return { problem: 'refused', reason: err.reason };
      ctx.logger.warn({ err: (err as Error).message }, 'photo not stored');
      return { problem: 'unavailable' };
    }
  }

  async function communityOf(ctx: FlowContext): Promise<Home | undefined> {
    // A resident whose claim is still pending reports too, from the household they claimed (unverified).
    let householdId = ctx.person.householdStatus === 'bound' ? ctx.person.householdId : null;
    if (ctx.person.householdStatus === 'pending') {
      const [claim] = await ctx.tx
        .select({ householdId: householdClaims.householdId })
        .from(householdClaims)
        .where(and(eq(householdClaims.personId, ctx.person.id), eq(householdClaims.status, 'pending')))
        .orderBy(desc(householdClaims.createdAt))
        .limit(1);
      householdId = claim?.householdId ?? null;
    }
    if (householdId === null) return undefined;
    const household = await getUnit(ctx.tx, householdId);
    if (!household) return undefined;
    const community = await ancestorOfKind(ctx.tx, household, 'community');
    const building = await ancestorOfKind(ctx.tx, household, 'building');
    return community ? { communityId: community.id, householdId: household.id, buildingId: building?.id ?? null, verified: ctx.person.householdStatus === 'bound' } : undefined;
  }

  const label = (ctx: FlowContext, names: { 'zh-CN': string; ko?: string; en?: string }) => categoryName(names, ctx.person.locale);
  return { deps, settings, fx, savePhoto, communityOf, label };
}
