import { describe, expect, it } from 'vitest';
import { areaPress, categoryPress, COMPOSE, GROUPS, groupPress, MENU, PREFS, scopePress } from '../../../src/notices/buttons.js';

/** The notice flows' one button registry: no two buttons share an id, and each step reads only its own. */
describe('notice buttons', () => {
  const compose = [
    COMPOSE.pick(12),
    COMPOSE.into(12),
    COMPOSE.moreAreas,
    COMPOSE.areasDone,
    COMPOSE.category('general'),
    COMPOSE.group('all'),
    COMPOSE.group('elderly'),
    COMPOSE.skip,
    COMPOSE.now,
    COMPOSE.later,
    COMPOSE.send,
    COMPOSE.cancel,
  ];

  it('gives every button its own id', () => {
    const all = [...Object.values(MENU), ...compose, PREFS.toggle('general'), PREFS.done, GROUPS.toggle('elderly'), GROUPS.done];
    expect(new Set(all).size).toBe(all.length);
  });

  it('reads 再加一个区域 / 选好了 only in the area step, and an area pick never as one', () => {
    expect(compose.flatMap((id) => (areaPress.safeParse(id).success ? [areaPress.parse(id)] : []))).toEqual(['more', 'done']);
    expect(compose.filter((id) => scopePress.safeParse(id).success)).toEqual([COMPOSE.pick(12), COMPOSE.into(12)]);
    expect(scopePress.parse(COMPOSE.pick(12))).toEqual({ pick: 12 });
    expect(scopePress.parse(COMPOSE.into(7))).toEqual({ into: 7 });
    expect(compose.filter((id) => categoryPress.safeParse(id).success)).toEqual([COMPOSE.category('general')]);
    expect(compose.filter((id) => groupPress.safeParse(id).success)).toEqual([COMPOSE.group('all'), COMPOSE.group('elderly')]);
  });

  it('takes a forged unit id for no press at all (the step asks again) rather than failing the turn', () => {
    for (const forged of ['ns.pick.abc', 'ns.pick.', 'ns.into.-3', 'ns.pick.1.5', 'ns.pick.0']) expect(scopePress.safeParse(forged).success).toBe(false);
  });
});
