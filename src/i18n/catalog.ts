import type { Locale } from '../config.js';

/** A message is plain text or a function of typed parameters. */
export type Message = string | ((params: any) => string);
export type Catalog = Record<string, Message>;

/** The same keys and parameter types as the zh-CN catalogue, in another language. */
export type Translation<T extends Catalog> = {
  [K in keyof T]: T[K] extends (params: infer P) => string ? (params: P) => string : string;
};

export type Localised<T extends Catalog> = { 'zh-CN': T; ko: Translation<T>; en: Translation<T> };

/**
 * Declares one module's messages: zh-CN first, ko and en checked by the compiler to have the same
 * keys and parameters.
 */
export function defineMessages<const T extends Catalog>(zhCN: T, ko: Translation<T>, en: Translation<T>): Localised<T> {
  return { 'zh-CN': zhCN, ko, en };
}

export function pick<T extends Catalog>(messages: Localised<T>, locale: Locale): Translation<T> {
  return messages[locale] as Translation<T>;
}
