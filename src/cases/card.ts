import { eq } from 'drizzle-orm';
import { caseCategories, type cases } from '../../db/schema/index.js';
import type { Tx } from '../../db/client.js';
import type { Locale } from '../config.js';
import type { Say } from '../dialog/flow.js';
import type { Messages } from '../i18n/index.js';
import { getUnit, lineage, type OrgUnit } from '../org/tree.js';
import type { CaseRow } from './record.js';
import type { Priority } from './rules.js';

export interface CaseView {
  number: string;
  /** The category is an emergency one (重大紧急突发事件): community and street hear at once. */
  emergency: boolean;
  category: (locale: Locale) => string;
  place: string;
  description: string;
}

/** What staff cards show: number, category in the reader's language, place, description. */
export async function caseView(tx: Tx, c: CaseRow): Promise<CaseView> {
  const [cat] = await tx.select({ names: caseCategories.names, emergency: caseCategories.emergency }).from(caseCategories).where(eq(caseCategories.id, c.categoryId));
  const unit = c.placeId === null ? undefined : await getUnit(tx, c.placeId);
  return viewOf(c, cat, unit ? await lineage(tx, unit) : []);
}

export type CategoryLabel = Pick<typeof caseCategories.$inferSelect, 'names' | 'emergency'>;

/** caseView from what the caller already read: the category and the place's lineage (top first). */
export function viewOf(
  c: Pick<CaseRow, 'number' | 'description' | 'locationLabel' | 'lat' | 'lng'>,
  cat: CategoryLabel | undefined,
  placeChain: readonly OrgUnit[],
): CaseView {
  let place = c.locationLabel ?? '';
  // The household's address without the administrative levels staff already know.
  if (placeChain.length) place = placeChain.filter((u) => u.kind !== 'county' && u.kind !== 'street' && u.kind !== 'grid').map((u) => u.name).join(' · ');
  else if (!place && c.lat !== null) place = `${Number(c.lat).toFixed(5)}, ${Number(c.lng).toFixed(5)}`;
  return {
    number: c.number,
    emergency: cat?.emergency ?? false,
    category: (locale) => cat?.names[locale] ?? cat?.names['zh-CN'] ?? '',
    place,
    description: c.description,
  };
}

/** China-time "11-22 14:05" for deadlines in messages. */
export function formatDue(at: Date): string {
  const local = new Date(at.getTime() + 8 * 3_600_000).toISOString();
  return `${local.slice(5, 10)} ${local.slice(11, 16)}`;
}

/** The card a grid worker (or whoever holds the case) gets, with its buttons. */
export function assigneeCard(view: CaseView, c: { id: string; priority: Priority }, due: Date) {
  return (t: Messages, locale: Locale): Say => ({
    text: t.cases.card({
      number: view.number,
      priority: t.cases[`priority_${c.priority}`],
      category: view.category(locale),
      place: view.place,
      description: view.description,
      due: formatDue(due),
    }),
    choices: [
      { id: `ck:${c.id}`, label: t.cases.accept },
      { id: `cv:${c.id}`, label: t.cases.resolve },
      { id: `ct:${c.id}`, label: t.cases.transfer },
      { id: `cb:${c.id}`, label: t.cases.giveBack },
      { id: `cx:${c.id}`, label: t.cases.closeOther },
    ],
  });
}
