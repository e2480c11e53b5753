import { HooklineError } from '../errors.ts';

/**
 * The one template engine of every format (SPEC §5): `{{name}}` and `{name}` substitute a
 * variable; nothing else is interpreted, so a template can never run code. Where the value lands
 * decides its escaping: URL-encoded in URLs and form bodies, JSON-escaped in JSON (inside a
 * string literal the text is escaped; outside one the value is written as a JSON value), CR and
 * LF removed in headers.
 */
export const CONTEXTS = ['url', 'json', 'form', 'text'] as const;
export type Context = (typeof CONTEXTS)[number];

export type Value = string | number | boolean | null;
export type Vars = Readonly<Record<string, Value>>;

type Segment = { text: string } | { name: string; inString: boolean };

export interface Template {
  readonly source: string;
  readonly context: Context;
  readonly names: readonly string[];
  readonly segments: readonly Segment[];
}

// `{{ name }}` or `{name}`: a name is a letter or _ then letters, digits, _ or dots.
const PLACEHOLDER = /\{\{\s*([A-Za-z_][\w.]*)\s*\}\}|\{([A-Za-z_][\w.]*)\}/g;

/** Splits a template into text and placeholders; in JSON, notes which sit inside a string. */
export function parseTemplate(source: string, context: Context): Template {
  const segments: Segment[] = [];
  const names: string[] = [];
  let last = 0;
  let inString = false;
  let scanned = 0;
  const advanceQuotes = (upTo: number) => {
    // Track JSON string state over literal text: a quote not escaped by a backslash toggles it.
    for (let i = scanned; i < upTo; i++) {
      const ch = source[i];
      if (ch === '\\' && inString) i++;
      else if (ch === '"') inString = !inString;
    }
    scanned = upTo;
  };
  for (const m of source.matchAll(PLACEHOLDER)) {
    const name = (m[1] ?? m[2])!;
    if (m.index > last) segments.push({ text: source.slice(last, m.index) });
    if (context === 'json') advanceQuotes(m.index);
    segments.push({ name, inString: context === 'json' && inString });
    names.push(name);
    last = m.index + m[0].length;
    scanned = last;
  }
  if (last < source.length) segments.push({ text: source.slice(last) });
  return { source, context, names: [...new Set(names)], segments };
}

/** Refuses a template that names a variable the format does not have, listing the known ones. */
export function checkTemplate(source: string, context: Context, known: readonly string[], field: string): Template {
  const t = parseTemplate(source, context);
  // `{{caller` or `{{caller}` (a placeholder not closed as it was opened) would be sent as it is,
  // or as `{` and the value: a typo, refused like a misspelt name
  const unclosed = t.segments.map((s) => ('text' in s ? /\{\{\s*([A-Za-z_][\w.]*)/.exec(s.text) : null)).find((m) => m !== null)
    ?? /\{\{\s*([A-Za-z_][\w.]*)\s*\}(?!\})/.exec(source);
  if (unclosed) {
    const message = `${field}: {{${unclosed[1]} is not closed; write {{${unclosed[1]}}}`;
    throw new HooklineError('invalid_template', message, { field, errors: [{ field, code: 'invalid_template', message }] });
  }
  const unknown = t.names.filter((n) => !known.includes(n));
  if (unknown.length > 0) {
    const message = `${field}: unknown variable${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `{{${n}}}`).join(', ')}; known variables: ${known.join(', ')}`;
    throw new HooklineError('invalid_template', message, { field, errors: [{ field, code: 'invalid_template', message }] });
  }
  return t;
}

function text(v: Value | undefined): string {
  return v === null || v === undefined ? '' : String(v);
}

/** x-www-form-urlencoded: like encodeURIComponent, with spaces as `+`. */
export function formEncode(s: string): string {
  return encodeURIComponent(s).replace(/%20/g, '+');
}

function escape(seg: { name: string; inString: boolean }, v: Value | undefined, context: Context): string {
  switch (context) {
    case 'url':
      return encodeURIComponent(text(v));
    case 'form':
      return formEncode(text(v));
    case 'text':
      return text(v).replace(/[\r\n]+/g, ' ');
    case 'json':
      if (seg.inString) return JSON.stringify(text(v)).slice(1, -1);
      return JSON.stringify(v ?? null);
  }
}

export function render(t: Template, vars: Vars): string {
  let out = '';
  // Own properties only: `{{constructor}}` or `{{__proto__}}` is a name like any other, never Object's.
  for (const seg of t.segments) out += 'text' in seg ? seg.text : escape(seg, Object.hasOwn(vars, seg.name) ? vars[seg.name] : undefined, t.context);
  return out;
}

/** Parse-and-render in one go, for templates checked when they were saved. */
export function renderTemplate(source: string, context: Context, vars: Vars): string {
  return render(parseTemplate(source, context), vars);
}
