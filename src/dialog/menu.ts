import type { Messages } from '../i18n/index.js';
import type { MenuEntry, PersonView } from './flow.js';
import { MAX_CHOICES, type Choice } from './reply.js';

/**
 * The main menu's sections. Every module adds entries, and a flat list had reached 21 for a
 * community secretary who is also a resident (past the 20 a chat can number, so the last were
 * cut) and 14 for any resident on WeChat, where each is a numbered line. Related entries share a
 * section: the main menu shows one line for a section with several visible entries (it opens a
 * sub-menu), and a section's only visible entry as itself.
 */
export const MENU_SECTIONS = {
  notices: { label: (t: Messages) => t.dialog.section_notices },
  activities: { label: (t: Messages) => t.dialog.section_activities },
  consultations: { label: (t: Messages) => t.dialog.section_consultations },
  manage: { label: (t: Messages) => t.dialog.section_manage },
  settings: { label: (t: Messages) => t.dialog.section_settings },
} as const;

export type MenuSection = keyof typeof MENU_SECTIONS;

const SECTION_PREFIX = 'menu.section.';

/** The sub-menu's way back to the main menu. */
export const MENU_HOME = 'menu.home';

export function sectionChoiceId(section: MenuSection): string {
  return `${SECTION_PREFIX}${section}`;
}

/** The section a menu.section.* choice opens, if it is one. */
export function sectionOfChoice(choice: string): MenuSection | undefined {
  if (!choice.startsWith(SECTION_PREFIX)) return undefined;
  const name = choice.slice(SECTION_PREFIX.length);
  return Object.hasOwn(MENU_SECTIONS, name) ? (name as MenuSection) : undefined;
}

type Entry = MenuEntry & { flow: string };

/** The entries this person sees, in order. */
export function visibleEntries(menu: readonly Entry[], person: PersonView): Entry[] {
  return menu.filter((m) => m.visible(person)).sort((a, b) => a.order - b.order);
}

/**
 * The main menu's lines: entries outside a section, and per section either its one entry or one
 * line opening it, placed where its first entry would be.
 */
export function mainMenuChoices(entries: readonly Entry[], t: Messages): Choice[] {
  const inSection = new Map<MenuSection, number>();
  for (const e of entries) if (e.section) inSection.set(e.section, (inSection.get(e.section) ?? 0) + 1);
  const lines: Choice[] = [];
  const placed = new Set<MenuSection>();
  for (const e of entries) {
    if (!e.section || inSection.get(e.section) === 1) lines.push({ id: e.id, label: e.label(t) });
    else if (!placed.has(e.section)) {
      placed.add(e.section);
      lines.push({ id: sectionChoiceId(e.section), label: MENU_SECTIONS[e.section].label(t) });
    }
  }
  return lines.slice(0, MAX_CHOICES);
}

/** One section's entries, as a sub-menu, and last its way back to the main menu. */
export function sectionChoices(entries: readonly Entry[], section: MenuSection, t: Messages): Choice[] {
  const members = entries.filter((e) => e.section === section).map((e) => ({ id: e.id, label: e.label(t) }));
  if (!members.length) return [];
  // Room for 主菜单 within what one reply may offer.
  return [...members.slice(0, MAX_CHOICES - 1), { id: MENU_HOME, label: t.dialog.toMainMenu }];
}

/** Checks, once at start-up, that every section named by an entry exists and no two entries share an id. */
export function checkMenu(menu: readonly Entry[]): void {
  const ids = new Set<string>();
  for (const e of menu) {
    if (ids.has(e.id)) throw new Error(`menu entry id ${e.id} is used twice`);
    if (e.id.startsWith(SECTION_PREFIX) || e.id === MENU_HOME) throw new Error(`menu entry id ${e.id} is reserved for the menu's own lines`);
    if (e.section && !Object.hasOwn(MENU_SECTIONS, e.section)) throw new Error(`menu entry ${e.id}: no section ${String(e.section)}`);
    ids.add(e.id);
  }
}
