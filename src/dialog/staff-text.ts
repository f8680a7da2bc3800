import { maskPhone } from '../residents/privacy.js';

/**
 * Control and bidirectional-formatting characters: C0/C1 controls (except newline and tab), the
 * bidi embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069), marks (U+200E, U+200F,
 * U+061C), and the line/paragraph separators. U+202E alone can make "gpj.exe" read as "exe.jpg".
 */
const CONTROLS = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u061C\u200E\u200F\u2028\u2029\u202A-\u202E\u2066-\u2069]/g;

/** A phone number inside free text: a Chinese mobile (optionally +86) or a landline with area code. */
const PHONE_IN_TEXT = /(?<!\d)(?:(?:\+?86[\s-]?)?1[3-9]\d(?:[\s-]?\d{4}){2}|0\d{2,3}[\s-]?\d{7,8})(?!\d)/g;

/** Text with control and bidi characters replaced by a visible placeholder, so it reads as written. */
export function neutraliseControls(text: string): string {
  return text.replace(CONTROLS, '\uFFFD');
}

/**
 * What a resident typed, as staff see it (cards, case details): controls neutralised and any
 * phone number masked like every other phone in a view. The one sanitiser of every
 * staff-facing render of free text.
 */
export function forStaff(text: string): string {
  return neutraliseControls(text).replace(PHONE_IN_TEXT, (phone) => maskPhone(phone.replace(/[\s-]/g, '')));
}
