import type { Locale } from '../../src/config.js';
import { messages } from '../../src/i18n/index.js';

/**
 * The chat page: one self-contained HTML document (no build step), sized for a phone first.
 * The script posts what the person types with a client message id (retries reuse it, so a flaky
 * network never files anything twice) and long-polls for the bot's replies.
 */
/** `nonce` is the CSP nonce of this response: only the page's own style and script run. */
export function chatPage(locale: Locale, nonce: string, opts: { maxTextLength?: number } = {}): string {
  const t = messages(locale).webchat;
  // The server's own limit (MAX_TEXT_LENGTH), so the page never lets through what the server refuses.
  const maxText = opts.maxTextLength ?? 2000;
  const strings = JSON.stringify({
    offline: t.offline,
    locationDenied: t.locationDenied,
    uploadFailed: t.uploadFailed,
    shareLocation: t.shareLocation,
    photoNotNow: t.photoNotNow,
    refused: t.refused,
    tooLong: t.tooLong({ max: maxText }),
    myPhoto: t.myPhoto,
  });
  return `<!doctype html>
<html lang="${locale}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<title>${escapeHtml(t.title)}</title>
<link rel="icon" href="${FAVICON}">
<style nonce="${nonce}">
  * { box-sizing: border-box; }
  html, body { margin: 0; height: 100%; font-family: system-ui, -apple-system, "PingFang SC", "Noto Sans CJK SC", "Malgun Gothic", sans-serif; background: #f2f3f5; }
  body { display: flex; flex-direction: column; }
  header { background: #c8102e; color: #fff; padding: 12px 16px; font-size: 17px; font-weight: 600; }
  #log { flex: 1; overflow-y: auto; padding: 12px; display: flex; flex-direction: column; gap: 8px; }
  /* A reading width on a desktop; the whole column centred. */
  #log, #status, form, #loc { width: 100%; max-width: 760px; align-self: center; }
  #loc { width: calc(100% - 16px); }
  .msg { max-width: min(85%, 34rem); padding: 10px 12px; border-radius: 12px; white-space: pre-wrap; word-break: break-word; line-height: 1.45; font-size: 15px; }
  .bot { background: #fff; align-self: flex-start; border-top-left-radius: 4px; }
  .me { background: #95ec69; align-self: flex-end; border-top-right-radius: 4px; }
  .choices { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 8px; }
  .choices button { min-height: 40px; padding: 8px 12px; border-radius: 18px; border: 1px solid #c8102e; background: #fff; color: #c8102e; font-size: 15px; }
  .choices button:disabled { opacity: .45; }
  .msg img { max-width: 100%; border-radius: 8px; display: block; margin-top: 6px; }
  .msg img.thumb { max-width: 160px; max-height: 160px; margin-top: 0; }
  #status { color: #888; font-size: 13px; text-align: center; min-height: 18px; }
  form { display: flex; gap: 6px; padding: 8px; background: #fff; border-top: 1px solid #ddd; padding-bottom: max(8px, env(safe-area-inset-bottom)); }
  #text { flex: 1; min-width: 0; font-size: 16px; padding: 10px; border: 1px solid #ccc; border-radius: 8px; }
  form button, .file { min-width: 56px; min-height: 44px; font-size: 15px; border: 0; border-radius: 8px; background: #c8102e; color: #fff; padding: 0 12px; display: inline-flex; align-items: center; justify-content: center; }
  .file { background: #666; }
  .file input { display: none; }
  #loc { display: none; margin: 0 8px 8px; min-height: 44px; border-radius: 8px; border: 1px solid #c8102e; background: #fff; color: #c8102e; font-size: 15px; }
</style>
</head>
<body>
<header>${escapeHtml(t.title)}</header>
<div id="log" aria-live="polite"></div>
<div id="status"></div>
<button id="loc" type="button">📍 ${escapeHtml(t.shareLocation)}</button>
<form id="form" autocomplete="off">
  <label class="file" title="${escapeHtml(t.photo)}">📷<input id="photo" type="file" accept="image/jpeg,image/png,image/webp"></label>
  <input id="text" name="text" placeholder="${escapeHtml(t.placeholder)}" aria-label="${escapeHtml(t.placeholder)}">
  <button type="submit">${escapeHtml(t.send)}</button>
</form>
<script nonce="${nonce}">
const S = ${strings};
const MAX_TEXT = ${maxText};
const log = document.getElementById('log');
const status = document.getElementById('status');
const locBtn = document.getElementById('loc');
let after = 0;
// The person's own messages survive a reload: this tab keeps them, each after the bot message it
// followed, and puts them back between the bot's when the history is replayed.
const MINE = 'linli.mine', PRESSED = 'linli.pressed';
const load = (k) => { try { return JSON.parse(sessionStorage.getItem(k) || '[]'); } catch (e) { return []; } };
const save = (k, v) => { try { sessionStorage.setItem(k, JSON.stringify(v.slice(-150))); } catch (e) {} };
const mine = load(MINE);
let replay = mine.slice();
const pressed = new Set(load(PRESSED));
// Card buttons (接单 on a case, a rating) stay usable until pressed; a step's choices only until answered or superseded.
const isAction = (id) => /^[a-z]{2}:[0-9a-f]{8}-[0-9a-f]{4}-/.test(id);
function toBottom() { log.scrollTop = log.scrollHeight; }
function bubble(cls, text) {
  const d = document.createElement('div');
  d.className = 'msg ' + cls;
  d.textContent = text;
  log.appendChild(d);
  return d;
}
function retireStepChoices() {
  log.querySelectorAll('.choices button[data-step]').forEach((b) => (b.disabled = true));
}
function ownBubble(m) {
  if (m.choice) retireStepChoices();
  const d = bubble('me', m.text || '');
  if (m.thumb) {
    const img = document.createElement('img');
    img.className = 'thumb'; img.src = m.thumb; img.alt = S.myPhoto;
    img.onload = toBottom;
    d.textContent = '';
    d.appendChild(img);
  }
  return d;
}
function remember(m) {
  const entry = Object.assign({ after }, m);
  mine.push(entry);
  save(MINE, mine);
  ownBubble(entry);
  toBottom();
}
function flushReplay(upTo) {
  while (replay.length && (upTo === undefined || replay[0].after < upTo)) ownBubble(replay.shift());
}
// What this tab sends goes one message at a time, in order: the server handles each before it
// answers, so a text typed and a button tapped right after it are taken in that order, never the
// tap first (two requests in flight at once may be handled either way round).
let outgoing = Promise.resolve();
async function post(body) {
  // The same clientMessageId on every retry: the server stores a message once.
  let renewed = false;
  for (let tries = 0; ; tries++) {
    try {
      const r = await fetch('/chat/api/messages', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      // The session ended (the person deleted their data): a new one starts, then the message goes.
      if (r.status === 401 && !renewed) { renewed = true; await fetch('/chat/api/session', { method: 'POST' }); continue; }
      if (r.status >= 500 || r.status === 429) throw new Error('retry');
      status.textContent = r.ok ? '' : S.refused;
      return;
    } catch (e) {
      status.textContent = S.offline;
      if (tries >= 20) return;
      await new Promise((r) => setTimeout(r, Math.min(500 * 2 ** tries, 8000)));
    }
  }
}
function send(payload, echo) {
  if (echo) remember(echo);
  const body = Object.assign({ clientMessageId: crypto.randomUUID() }, payload);
  outgoing = outgoing.then(() => post(body));
}
document.getElementById('form').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = document.getElementById('text');
  const text = input.value;
  if (!text.trim()) return;
  // Too long for the server: say so and keep the text where it is, never throw it away.
  if (text.length > MAX_TEXT) { status.textContent = S.tooLong; return; }
  input.value = '';
  send({ text }, { text });
});
function thumbnail(file) {
  return new Promise((resolve) => {
    const url = URL.createObjectURL(file);
    const img = new Image();
    img.onload = () => {
      const scale = Math.min(1, 240 / Math.max(img.width, img.height));
      const c = document.createElement('canvas');
      c.width = Math.round(img.width * scale); c.height = Math.round(img.height * scale);
      c.getContext('2d').drawImage(img, 0, 0, c.width, c.height);
      URL.revokeObjectURL(url);
      resolve(c.toDataURL('image/jpeg', 0.7));
    };
    img.onerror = () => { URL.revokeObjectURL(url); resolve(null); };
    img.src = url;
  });
}
document.getElementById('photo').addEventListener('change', async (e) => {
  const file = e.target.files[0];
  if (!file) return;
  const fd = new FormData();
  fd.append('photo', file);
  fd.append('clientMessageId', crypto.randomUUID());
  const r = await fetch('/chat/api/photos', { method: 'POST', body: fd }).catch(() => null);
  if (!r || !r.ok) { status.textContent = r && r.status === 409 ? S.photoNotNow : S.uploadFailed; e.target.value = ''; return; }
  const thumb = await thumbnail(file);
  remember(thumb ? { thumb } : { text: '📷 ' + file.name });
  e.target.value = '';
});
locBtn.addEventListener('click', () => {
  if (!navigator.geolocation) { status.textContent = S.locationDenied; return; }
  navigator.geolocation.getCurrentPosition(
    (p) => { locBtn.style.display = 'none'; send({ location: { lat: p.coords.latitude, lng: p.coords.longitude } }, { text: '📍', choice: true }); },
    () => { status.textContent = S.locationDenied; },
    { enableHighAccuracy: true, timeout: 10000 },
  );
});
function render(m) {
  flushReplay(m.id);
  const d = bubble('bot', m.text);
  d.dataset.id = m.id;
  for (const media of m.media || []) {
    const img = document.createElement('img');
    img.src = media.url; img.alt = media.caption || '';
    img.onload = toBottom;
    d.appendChild(img);
  }
  if (m.choices && m.choices.length) {
    // A new question: the choices of the one before it are no longer answers.
    if (m.choices.some((c) => !isAction(c.id))) retireStepChoices();
    const box = document.createElement('div');
    box.className = 'choices';
    for (const c of m.choices) {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = c.label;
      if (isAction(c.id)) b.disabled = pressed.has(c.id);
      else b.dataset.step = '1';
      b.addEventListener('click', () => {
        box.querySelectorAll('button').forEach((x) => (x.disabled = true));
        if (isAction(c.id)) { pressed.add(c.id); save(PRESSED, [...pressed]); }
        else retireStepChoices();
        send({ choice: c.id }, { text: c.label, choice: !isAction(c.id) });
      });
      box.appendChild(b);
    }
    d.appendChild(box);
  }
  locBtn.style.display = m.requestLocation ? 'block' : 'none';
}
async function poll() {
  for (;;) {
    try {
      const r = await fetch('/chat/api/messages?after=' + after);
      if (!r.ok) throw new Error('poll');
      const body = await r.json();
      for (const m of body.messages) { render(m); after = Math.max(after, m.id); }
      // What the person sent after the last bot message of the history.
      if (replay.length) flushReplay(after + 1);
      // After every answer the newest message, with its buttons, is in view.
      if (body.messages.length) toBottom();
      status.textContent = '';
    } catch (e) {
      status.textContent = S.offline;
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}
fetch('/chat/api/session', { method: 'POST' }).then(poll);
</script>
</body>
</html>`;
}

/** 邻 on the brand red, inline so the page needs no extra request. */
const FAVICON =
  "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 64 64'%3E%3Crect width='64' height='64' rx='14' fill='%23c8102e'/%3E%3Ctext x='32' y='45' font-size='36' text-anchor='middle' fill='white' font-family='sans-serif'%3E%E9%82%BB%3C/text%3E%3C/svg%3E";

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
