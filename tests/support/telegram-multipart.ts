import type { IncomingMessage } from 'node:http';

/** Request bodies as the Telegram emulator reads them: JSON, url-encoded, or grammY's multipart uploads. */

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** JSON bodies as they are; multipart fields JSON-decoded where grammY encoded objects, files as bytes. */
export async function readParams(req: IncomingMessage, url: URL): Promise<Record<string, unknown>> {
  const type = req.headers['content-type'] ?? '';
  const body = await readBody(req);
  if (body.length === 0) return {};
  if (type.startsWith('application/json')) {
    const parsed = JSON.parse(body.toString('utf8')) as unknown;
    if (typeof parsed !== 'object' || parsed === null) throw new Error('request body must be an object');
    return parsed as Record<string, unknown>;
  }
  if (type.startsWith('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(body.toString('utf8')));
  if (type.startsWith('multipart/form-data')) {
    const boundary = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(type);
    if (!boundary) throw new Error('multipart body without boundary');
    const { fields, files } = parseMultipart(body, boundary[1] ?? boundary[2]!);
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(fields)) {
      const attach = /^attach:\/\/(.+)$/.exec(value);
      if (attach) {
        if (!files[attach[1]!]) throw new Error(`no file part ${attach[1]}`);
        out[key] = files[attach[1]!];
      } else out[key] = /^[[{]/.test(value) ? (JSON.parse(value) as unknown) : value;
    }
    for (const [key, value] of Object.entries(files)) if (!(key in out) && !Object.values(fields).includes(`attach://${key}`)) out[key] = value;
    return out;
  }
  throw new Error(`unsupported content-type ${type}`);
}

/**
 * multipart/form-data as grammY writes it (`content-disposition:form-data;name="x"`, unquoted
 * filenames), which Telegram accepts but undici's strict FormData parser refuses.
 */
function parseMultipart(body: Buffer, boundary: string): { fields: Record<string, string>; files: Record<string, Buffer> } {
  const fields: Record<string, string> = {};
  const files: Record<string, Buffer> = {};
  const delimiter = Buffer.from(`--${boundary}`);
  let pos = body.indexOf(delimiter);
  if (pos < 0) throw new Error('multipart boundary not found');
  for (;;) {
    pos += delimiter.length;
    if (body.subarray(pos, pos + 2).toString() === '--') break;
    if (body.subarray(pos, pos + 2).toString() === '\r\n') pos += 2;
    const next = body.indexOf(delimiter, pos);
    if (next < 0) throw new Error('unterminated multipart body');
    let part = body.subarray(pos, next);
    if (part.subarray(-2).toString() === '\r\n') part = part.subarray(0, -2);
    const split = part.indexOf('\r\n\r\n');
    if (split < 0) throw new Error('multipart part without headers');
    const headers = part.subarray(0, split).toString('utf8');
    const content = part.subarray(split + 4);
    const disposition = /^content-disposition\s*:\s*(.*)$/im.exec(headers)?.[1] ?? '';
    const name = /(?:^|;)\s*name="([^"]*)"/i.exec(disposition)?.[1] ?? /(?:^|;)\s*name=([^;\s]+)/i.exec(disposition)?.[1];
    if (!name) throw new Error('multipart part without a name');
    if (/(?:^|;)\s*filename=/i.test(disposition)) files[name] = Buffer.from(content);
    else fields[name] = content.toString('utf8');
    pos = next;
  }
  return { fields, files };
}

