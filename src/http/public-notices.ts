import type { Hono } from 'hono';
import { html, raw } from 'hono/html';
import { z } from 'zod';
import type { Database } from '../../db/client.js';
import type { Config } from '../config.js';
import { LOCALES, type Locale } from '../config.js';
import { messages } from '../i18n/index.js';
import type { Logger } from '../log.js';
import { publicNotices } from '../notices/queries.js';
import { formatLocal } from '../notices/rules.js';

const params = z.object({ code: z.string().regex(/^[A-Za-z0-9-]{1,64}$/) });
const query = z.object({ lang: z.enum(LOCALES).optional() });

/**
 * 居务公开: GET /public/<community code> lists the community's published notices of the public
 * catalogue (党务 / 居务 / 财务 / 服务). No sign-in and no personal data: titles, text, dates.
 */
export function registerPublicNotices(app: Hono, deps: { database: Database; config: Config; logger: Logger }) {
  app.get('/public/:code', async (c) => {
    const p = params.safeParse(c.req.param());
    const q = query.safeParse(c.req.query());
    const locale: Locale = (q.success && q.data.lang) || deps.config.defaultLocale;
    if (!p.success) return c.text('not found', 404);
    const found = await publicNotices(deps.database.db, p.data.code);
    if (!found) return c.text('not found', 404);
    const t = messages(locale).notices;
    const title = t.publicTitle({ community: found.community.name });
    const items = found.notices.map(
      (n) => html`<article><h2>【${t[`category_${n.category}`]}】${n.title}</h2><time>${formatLocal(n.releasedAt, deps.config.notices.timeZone)}</time><p>${n.body}</p>${n.correction ? html`<p class="correction">${t.publicCorrection}${n.correction}</p>` : ''}</article>`,
    );
    c.header('cache-control', 'public, max-age=60');
    return c.html(html`<!doctype html>
<html lang="${locale}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title}</title>
<style>${raw('body{font:16px/1.6 system-ui,sans-serif;max-width:44rem;margin:1rem auto;padding:0 1rem}article{border-bottom:1px solid #ddd;padding:.5rem 0}time{color:#666;font-size:.9em}p{white-space:pre-wrap}.correction{color:#a40}')}</style>
</head><body><h1>${title}</h1>${items.length ? items : html`<p>${t.publicEmpty}</p>`}</body></html>`);
  });
}
