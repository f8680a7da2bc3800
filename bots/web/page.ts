import type { Locale } from '../../src/config.js';
import { messages } from '../../src/i18n/index.js';

/**
 * The chat page: one self-contained HTML document (no build step), sized for a phone first.
 * The script posts what the person types with a client message id (retries reuse it, so a flaky
 * network never files anything twice) and long-polls for the bot's replies.
 */
/** `nonce` is the CSP nonce of this response: only the page's own style and script run. */
export function chatPage(locale: Locale, nonce: string): string {
  const t = messages(locale).webchat;
  const strings = JSON.stringify({ offline: t.offline, locationDenied: t.locationDenied, uploadFailed: t.uploadFailed, shareLocation: t.shareLocation, photoNotNow: t.photoNotNow, refused: t.refused });
  return `<!doctype html>
<html lang="${locale}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<title>${escapeHtml(t.title)}</title>
<style nonce="${nonce}">
  * { box-sizing: border-box; }
  html, body { margin: 0; height: 100%; font-family: system-ui, -apple-system, "PingFang SC", "Noto Sans CJK SC", "Malgun Gothic", sans-serif; background: #f2f3f5; }
  body { display: flex; flex-direction: column; }
  header { background: #c8102e; color: #fff; padding: 12px 16px; font-size: 17px; font-weight: 600; }
  #log { flex: 1; overflow-y: auto; padding: 12px; display: flex; flex-direction: column; gap: 8px; }
  .msg { max-width: 85%; padding: 10px 12px; border-radius: 12px; white-space: pre-wrap; word-break: break-word; line-height: 1.45; font-size: 15px; }
  .bot { background: #fff; align-self: flex-start; border-top-left-radius: 4px; }
  .me { background: #95ec69; align-self: flex-end; border-top-right-radius: 4px; }
  .choices { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 8px; }
  .choices button { min-height: 40px; padding: 8px 12px; border-radius: 18px; border: 1px solid #c8102e; background: #fff; color: #c8102e; font-size: 15px; }
  .choices button:disabled { opacity: .45; }
  .msg img { max-width: 100%; border-radius: 8px; display: block; margin-top: 6px; }
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
  <input id="text" name="text" placeholder="${escapeHtml(t.placeholder)}" maxlength="4000" aria-label="${escapeHtml(t.placeholder)}">
  <button type="submit">${escapeHtml(t.send)}</button>
</form>
<script nonce="${nonce}">
const S = ${strings};
const log = document.getElementById('log');
const status = document.getElementById('status');
const locBtn = document.getElementById('loc');
let after = 0;
function bubble(cls, text) {
  const d = document.createElement('div');
  d.className = 'msg ' + cls;
  d.textContent = text;
  log.appendChild(d);
  log.scrollTop = log.scrollHeight;
  return d;
}
async function post(body, tries = 0) {
  // The same clientMessageId on every retry: the server stores a message once.
  try {
    const r = await fetch('/chat/api/messages', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    // The session ended (the person deleted their data): a new one starts, then the message goes.
    if (r.status === 401 && tries === 0) { await fetch('/chat/api/session', { method: 'POST' }); return post(body, 1); }
    if (r.status >= 500 || r.status === 429) throw new Error('retry');
    status.textContent = r.ok ? '' : S.refused;
  } catch (e) {
    status.textContent = S.offline;
    if (tries < 20) setTimeout(() => post(body, tries + 1), Math.min(500 * 2 ** tries, 8000));
  }
}
function send(payload, echo) {
  if (echo) bubble('me', echo);
  post(Object.assign({ clientMessageId: crypto.randomUUID() }, payload));
}
document.getElementById('form').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = document.getElementById('text');
  const text = input.value;
  if (!text.trim()) return;
  input.value = '';
  send({ text }, text);
});
document.getElementById('photo').addEventListener('change', async (e) => {
  const file = e.target.files[0];
  if (!file) return;
  const fd = new FormData();
  fd.append('photo', file);
  fd.append('clientMessageId', crypto.randomUUID());
  const r = await fetch('/chat/api/photos', { method: 'POST', body: fd }).catch(() => null);
  if (!r || !r.ok) { status.textContent = r && r.status === 409 ? S.photoNotNow : S.uploadFailed; e.target.value = ''; return; }
  bubble('me', '📷 ' + file.name);
  e.target.value = '';
});
locBtn.addEventListener('click', () => {
  if (!navigator.geolocation) { status.textContent = S.locationDenied; return; }
  navigator.geolocation.getCurrentPosition(
    (p) => { locBtn.style.display = 'none'; send({ location: { lat: p.coords.latitude, lng: p.coords.longitude } }, '📍'); },
    () => { status.textContent = S.locationDenied; },
    { enableHighAccuracy: true, timeout: 10000 },
  );
});
function render(m) {
  const d = bubble('bot', m.text);
  d.dataset.id = m.id;
  for (const media of m.media || []) {
    const img = document.createElement('img');
    img.src = media.url; img.alt = media.caption || '';
    d.appendChild(img);
  }
  if (m.choices && m.choices.length) {
    const box = document.createElement('div');
    box.className = 'choices';
    for (const c of m.choices) {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = c.label;
      b.addEventListener('click', () => {
        box.querySelectorAll('button').forEach((x) => (x.disabled = true));
        send({ choice: c.id }, c.label);
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

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
