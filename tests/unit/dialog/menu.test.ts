import { describe, expect, it } from 'vitest';
import type { MenuEntry, PersonView } from '../../../src/dialog/flow.js';
import { checkMenu, mainMenuChoices, MENU_HOME, sectionChoiceId, sectionChoices, sectionOfChoice, visibleEntries } from '../../../src/dialog/menu.js';
import { messages } from '../../../src/i18n/index.js';

const zh = messages('zh-CN');
type Entry = MenuEntry & { flow: string };
const entry = (id: string, order: number, more: Partial<Entry> = {}): Entry => ({ id, label: () => id, visible: () => true, order, flow: id, ...more });
const person: PersonView = { id: 'p', locale: 'zh-CN', householdId: 1, householdStatus: 'bound', consented: true, staff: [] };

const menu: Entry[] = [
  entry('menu.settings.b', 95, { section: 'settings' }),
  entry('menu.report', 10),
  entry('menu.notices.a', 30, { section: 'notices' }),
  entry('menu.notices.b', 31, { section: 'notices' }),
  entry('menu.settings.a', 90, { section: 'settings' }),
  entry('menu.staffonly', 60, { section: 'manage', visible: (p) => p.staff.length > 0 }),
  entry('menu.volunteer', 45),
];

describe('the main menu in sections', () => {
  it('shows a section with several visible entries as one line, where its first entry would be', () => {
    expect(mainMenuChoices(visibleEntries(menu, person), zh)).toEqual([
      { id: 'menu.report', label: 'menu.report' },
      { id: sectionChoiceId('notices'), label: zh.dialog.section_notices },
      { id: 'menu.volunteer', label: 'menu.volunteer' },
      { id: sectionChoiceId('settings'), label: zh.dialog.section_settings },
    ]);
  });

  it('shows a section whose only visible entry is one as that entry itself', () => {
    const staff = { ...person, staff: [{ id: 1, role: 'grid_worker' as const, orgUnitId: 1, subCommittee: null, onLeave: false }] };
    const lines = mainMenuChoices(visibleEntries(menu, staff), zh).map((c) => c.id);
    expect(lines).toContain('menu.staffonly');
    expect(lines).not.toContain(sectionChoiceId('manage'));
    // Hidden entries are not counted: a resident sees no 管理 line at all.
    expect(mainMenuChoices(visibleEntries(menu, person), zh).map((c) => c.id)).not.toContain('menu.staffonly');
  });

  it("lists a section's entries in order for its sub-menu, and knows its own choice ids", () => {
    expect(sectionChoices(visibleEntries(menu, person), 'settings', zh).map((c) => c.id)).toEqual(['menu.settings.a', 'menu.settings.b', MENU_HOME]);
    expect(sectionChoices(visibleEntries(menu, person), 'consultations', zh)).toEqual([]);
    expect(sectionOfChoice(sectionChoiceId('notices'))).toBe('notices');
    expect(sectionOfChoice('menu.section.nosuch')).toBeUndefined();
    expect(sectionOfChoice('menu.report')).toBeUndefined();
  });

  it('keeps every entry reachable when there are more than a chat can number in one message', () => {
    const many = Array.from({ length: 30 }, (_, i) => entry(`menu.n${i}`, i, { section: 'notices' }));
    const lines = mainMenuChoices(visibleEntries([...many, entry('menu.report', 100)], person), zh);
    expect(lines.map((c) => c.id)).toEqual([sectionChoiceId('notices'), 'menu.report']);
    // The sub-menu stays within one reply's choices, 主菜单 included.
    const sub = sectionChoices(visibleEntries(many, person), 'notices', zh);
    expect(sub).toHaveLength(20);
    expect(sub.at(-1)!.id).toBe(MENU_HOME);
  });

  it('refuses a menu whose ids collide or take the reserved ones', () => {
    expect(() => checkMenu([entry('menu.a', 1), entry('menu.a', 2)])).toThrow(/twice/);
    expect(() => checkMenu([entry(MENU_HOME, 1)])).toThrow(/reserved/);
    expect(() => checkMenu([entry(sectionChoiceId('notices'), 1)])).toThrow(/reserved/);
    expect(() => checkMenu(menu)).not.toThrow();
  });
});
