import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkAudienceScopes } from '../../../src/audience/scopes.js';
import { createConsultation } from '../../../src/consultations/commands.js';
import { createNotice } from '../../../src/notices/commands.js';
import { assign, makePerson } from '../../support/case-fixture.js';
import { createTestDatabase } from '../../support/db.js';
import { createSmallTown, type SmallTown } from '../../support/org-fixture.js';

/** 发送范围: one check that a notice and a consultation both ask (real PostgreSQL). */
describe('checkAudienceScopes (who may address which units)', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let town: SmallTown;
  let worker: string;
  const now = new Date();

  beforeAll(async () => {
    database = await createTestDatabase();
    town = await createSmallTown(database);
    worker = await makePerson(database);
    await assign(database, worker, 'grid_worker', town.grid.id);
  });
  afterAll(async () => {
    await database?.drop();
  });

  const check = (ids: number[]) => checkAudienceScopes(database.db, worker, ids);
  const notice = (ids: number[]) =>
    database.db.transaction((tx) => createNotice(tx, worker, { title: '楼道清扫', body: '周六上午清扫楼道。', category: 'general', scopeUnitIds: ids }, now));
  const consultation = (ids: number[]) =>
    database.db.transaction((tx) =>
      createConsultation(tx, worker, { title: '是否加装电梯', background: '居民提出加装电梯。', options: ['同意', '不同意'], scopeUnitIds: ids, basis: 'households', closesAt: new Date(now.getTime() + 3600_000) }, now),
    );

  it('lets a grid worker address their grid and its building, each once', async () => {
    expect(await check([town.building.id, town.grid.id, town.building.id])).toEqual({ ok: true, unitIds: [town.building.id, town.grid.id] });
  });

  it('refuses the other grid (outside the area), a 单元 (not an audience) and a unit that does not exist, naming the unit', async () => {
    expect(await check([town.building.id, town.otherGrid.id])).toEqual({ ok: false, reason: 'outside_area', unitId: town.otherGrid.id });
    expect(await check([town.unit.id])).toEqual({ ok: false, reason: 'scope_kind', unitId: town.unit.id });
    expect(await check([999_999])).toEqual({ ok: false, reason: 'no_such_unit', unitId: 999_999 });
  });

  it('gives a notice and a consultation the same refusal for the same units', async () => {
    for (const [ids, reason, unitId] of [
      [[town.otherGrid.id], 'outside_area', town.otherGrid.id],
      [[town.grid.id, town.unit.id], 'scope_kind', town.unit.id],
    ] as const) {
      await expect(notice([...ids])).rejects.toMatchObject({ reason, detail: { unitId } });
      await expect(consultation([...ids])).rejects.toMatchObject({ reason, detail: { unitId } });
    }
    expect((await notice([town.building.id])).status).toBe('draft');
    expect((await consultation([town.building.id])).title).toBe('是否加装电梯');
  });
});
