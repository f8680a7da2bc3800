import type { Database } from '../../db/client.js';
import type { Config } from '../config.js';
import { messages } from '../i18n/index.js';
import { placeLabel } from '../residents/household.js';
import { HouseholdRecordError, setHouseholdRecord, showHouseholdRecord, type HouseholdRecord, type HouseholdRecordChange } from './household-record.js';
import type { OrgUnit } from './tree.js';

/**
 * `npm run linli -- household show|set HOUSEHOLD_CODE --as PERSON …`: a household's floor area
 * and owner flag (房屋登记), for an operator acting as a named staff member who must reach the
 * household as in chat. The arguments arrive parsed (src/cli/commands.ts); refusals are printed
 * in the deployment's language.
 */
export async function runHouseholdCommand(
  args: { sub: 'show' | 'set'; as: string } & HouseholdRecordChange,
  unit: OrgUnit,
  config: Config,
  database: Database,
  out: (line: string) => void,
): Promise<void> {
  const t = messages(config.defaultLocale).staff;
  const explain = async (err: unknown): Promise<never> => {
    if (!(err instanceof HouseholdRecordError)) throw err;
    switch (err.reason) {
      case 'not_household':
        throw new Error(t.householdNotHousehold({ code: unit.code }));
      case 'not_staff':
        throw new Error(t.householdNotStaff);
      case 'on_leave':
        throw new Error(t.householdOnLeave);
      case 'outside_area':
        throw new Error(t.householdOutsideArea({ place: await placeLabel(database.db, unit.id) }));
    }
  };
  const facts = (r: HouseholdRecord) => ({ area: r.floorAreaM2, owner: r.owner });
  if (args.sub === 'show') {
    const record = await database.db.transaction((tx) => showHouseholdRecord(tx, args.as, unit.id)).catch(explain);
    out(t.householdRecord({ place: await placeLabel(database.db, unit.id), ...facts(record) }));
    return;
  }
  const change = { floorAreaM2: args.floorAreaM2, owner: args.owner };
  const { before, after, changed } = await database.db.transaction((tx) => setHouseholdRecord(tx, args.as, unit.id, change)).catch(explain);
  out(changed ? t.householdRecordSet({ before: facts(before), after: facts(after) }) : t.householdRecordUnchanged);
}
