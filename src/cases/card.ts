import { and, asc, eq } from 'drizzle-orm';
import { caseCategories, casePhotos } from '../../db/schema/index.js';
import type { Tx } from '../../db/client.js';
import type { Locale } from '../config.js';
import type { Say } from '../dialog/flow.js';
import type { Messages } from '../i18n/index.js';
import { localDateTime } from '../org/time.js';
import { getUnit, lineage, type OrgUnit } from '../org/tree.js';
import type { CaseRow } from './record.js';
import type { Priority } from './rules.js';
import { forStaff } from '../dialog/staff-text.js';

export interface CaseView {
  number: string;
  /** The category is an emergency one (重大紧急突发事件): community and street hear at once. */
  emergency: boolean;
  category: (locale: Locale) => string;
  /** Everything the resident said about where: the household, the typed place, the shared point with a map link. */
  place: (t: Messages) => string;
  description: string;
  /** The resident's photos (storage keys), sent with the card on every channel. */
  photos: string[];
  /** 重办: the resident was not satisfied and it came back. */
  reopened: boolean;
  /** The reporter's household was not yet verified when they reported (住户待核实). */
  unverified: boolean;
}

/** What staff cards show: number, category in the reader's language, place, description, photos. */
export async function caseView(tx: Tx, c: CaseRow): Promise<CaseView> {
  const [cat] = await tx.select({ names: caseCategories.names, emergency: caseCategories.emergency }).from(caseCategories).where(eq(caseCategories.id, c.categoryId));
  const unit = c.placeId === null ? undefined : await getUnit(tx, c.placeId);
  const photos = await tx
    .select({ key: casePhotos.storageKey })
    .from(casePhotos)
    .where(and(eq(casePhotos.caseId, c.id), eq(casePhotos.purpose, 'report')))
    .orderBy(asc(casePhotos.id));
  return viewOf(c, cat, unit ? await lineage(tx, unit) : [], photos.map((p) => p.key));
}

export type CategoryLabel = Pick<typeof caseCategories.$inferSelect, 'names' | 'emergency'>;

/** A map link for a shared location (高德 takes WGS-84 points as phones send them). */
export function mapLink(lat: number, lng: number): string {
  return `https://uri.amap.com/marker?position=${lng.toFixed(6)},${lat.toFixed(6)}&coordinate=wgs84`;
}

/** caseView from what the caller already read: the category, the place's lineage (top first) and the photos. */
export function viewOf(
  c: Pick<CaseRow, 'number' | 'description' | 'locationLabel' | 'lat' | 'lng' | 'reopenCount' | 'householdVerified'>,
  cat: CategoryLabel | undefined,
  placeChain: readonly OrgUnit[],
  photos: string[] = [],
): CaseView {
  // The household's address without the administrative levels staff already know.
  const home = placeChain.filter((u) => u.kind !== 'county' && u.kind !== 'street' && u.kind !== 'grid').map((u) => u.name).join(' · ');
  const typed = c.locationLabel ?? '';
  const point = c.lat !== null && c.lng !== null ? { lat: Number(c.lat), lng: Number(c.lng) } : null;
  return {
    number: c.number,
    emergency: cat?.emergency ?? false,
    category: (locale) => cat?.names[locale] ?? cat?.names['zh-CN'] ?? '',
    place: (t) =>
      [
        home && (c.householdVerified === false ? `${home}（${t.report.unverified}）` : home),
        !home && c.householdVerified === false && t.report.unverified,
        typed && (home ? t.report.placeTyped({ text: forStaff(typed) }) : forStaff(typed)),
        point && t.report.location({ lat: point.lat.toFixed(5), lng: point.lng.toFixed(5), url: mapLink(point.lat, point.lng) }),
      ]
        .filter(Boolean)
        .join('\n'),
    description: forStaff(c.description),
    photos,
    reopened: (c.reopenCount ?? 0) > 0,
    unverified: c.householdVerified === false,
  };
}

/** "11-22 14:05" in the community's time zone, for deadlines in messages. */
export function formatDue(at: Date): string {
  return localDateTime(at);
}

/** The resident's photos under a card, on every channel. */
export function photoMedia(view: CaseView) {
  return view.photos.length ? view.photos.slice(0, 10).map((fileRef) => ({ kind: 'photo' as const, fileRef })) : undefined;
}

/** The card a grid worker (or whoever holds the case) gets, with its buttons. */
export function assigneeCard(view: CaseView, c: { id: string; priority: Priority; status?: string }, due: Date) {
  return (t: Messages, locale: Locale): Say => {
    const text = t.cases.card({
      title: view.reopened ? t.timeline.cardReopened : t.timeline.cardNew,
      number: view.number,
      priority: t.cases[`priority_${c.priority}`],
      category: view.category(locale),
      place: view.place(t),
      description: view.description,
      due: formatDue(due),
    });
    return {
      text: view.photos.length ? `${text}\n${t.report.photosAttached({ n: view.photos.length })}` : text,
      media: photoMedia(view),
      choices: cardChoices(t, c.id, c.status === 'accepted' ? 'accepted' : 'assigned'),
    };
  };
}

/** The holder's buttons: 接单 while it waits to be accepted, then 办结 and the rest. */
export function cardChoices(t: Messages, caseId: string, status: 'assigned' | 'accepted') {
  return [
    ...(status === 'assigned' ? [{ id: `ck:${caseId}`, label: t.cases.accept }] : []),
    { id: `cv:${caseId}`, label: t.cases.resolve },
    { id: `ct:${caseId}`, label: t.cases.transfer },
    { id: `cb:${caseId}`, label: t.cases.giveBack },
    { id: `cx:${caseId}`, label: t.cases.closeOther },
  ];
}
