/**
 * The text rule: every string a request brings (path parameters, query, JSON body, object keys
 * included) must be text both stores can keep. PostgreSQL refuses U+0000 in TEXT columns
 * (22021, which would surface as a 500), and an unpaired surrogate is not Unicode at all: the
 * driver would silently store U+FFFD instead. Checked in one hook before every route's own
 * validation, so a route added later is covered without doing anything.
 *
 * Other control characters are left alone: `\n` in a template body or `\t` in a transcript line
 * is legitimate, and header values are checked where headers are saved.
 */
import type { FastifyRequest } from 'fastify';
import { HooklineError, fieldError } from '../errors.ts';

/**
 * How deep a JSON body may nest. Stored documents are serialised by recursive JSON.stringify,
 * which overflows the stack a few thousand levels down; no field Hookline knows nests past 4.
 */
export const MAX_DEPTH = 32;

/** Why `s` cannot be stored as text, or undefined when it can. */
export function textProblem(s: string): string | undefined {
  if (s.includes('\0')) return 'contains a NUL character (U+0000)';
  if (!s.isWellFormed()) return 'contains an unpaired surrogate (not valid Unicode)';
  return undefined;
}

type Path = (string | number)[];

/** A field named the way validation errors name it: `query.from`, `metadata.a[2]`, `body`. */
function fieldName(base: string, path: Path): string {
  let out = base === 'body' ? '' : base;
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? p : `.${p}`;
  return out === '' ? base : out;
}

function bad(base: string, path: Path, why: string): HooklineError {
  const field = fieldName(base, path);
  return fieldError('invalid_field', field, `${field} ${why}`);
}

/** The first string (or key) in `v` that breaks the rule, as a 400; paths are built only then. */
function walk(v: unknown, base: string, path: Path): HooklineError | undefined {
  if (typeof v === 'string') {
    const why = textProblem(v);
    return why === undefined ? undefined : bad(base, path, why);
  }
  if (typeof v !== 'object' || v === null) return undefined;
  if (path.length >= MAX_DEPTH) return bad(base, path, `nests deeper than ${MAX_DEPTH} levels`);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      path.push(i);
      const e = walk(v[i], base, path);
      path.pop();
      if (e) return e;
    }
    return undefined;
  }
  for (const k of Object.keys(v)) {
    const why = textProblem(k);
    if (why !== undefined) return bad(base, path, `has a key that ${why}`);
    path.push(k);
    const e = walk((v as Record<string, unknown>)[k], base, path);
    path.pop();
    if (e) return e;
  }
  return undefined;
}

/**
 * A query the parser could not decode is kept by it as raw text (`%ED%A0%80`, a stray `%`), so a
 * filter would silently search for those characters; the router refuses the same in a path.
 */
function undecodableQuery(url: string): HooklineError | undefined {
  const q = url.indexOf('?');
  if (q === -1 || !url.includes('%', q)) return undefined;
  for (const part of url.slice(q + 1).split('&')) {
    try {
      decodeURIComponent(part);
    } catch {
      const name = part.split('=')[0]!;
      let field: string;
      try {
        field = `query.${decodeURIComponent(name)}`;
      } catch {
        field = 'query';
      }
      return fieldError('invalid_field', field, `${field} is not valid percent-encoded UTF-8`);
    }
  }
  return undefined;
}

/**
 * The preValidation hook. A path parameter is an id: no resource can have one that breaks the
 * rule, so it is 404 `not_found` like any unknown id; anything else is 400 `invalid_field`.
 */
export async function textRule(req: FastifyRequest): Promise<void> {
  const params = req.params as Record<string, unknown> | undefined;
  if (params && typeof params === 'object') {
    for (const v of Object.values(params)) {
      if (typeof v === 'string' && textProblem(v) !== undefined) throw new HooklineError('not_found', `no such resource: the id ${textProblem(v)}`);
    }
  }
  const e = undecodableQuery(req.url) ?? walk(req.query, 'query', []) ?? walk(req.body, 'body', []);
  if (e) throw e;
}
