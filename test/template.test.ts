/**
 * The template engine of every format (SPEC §5 "Templates"): `{{var}}`, `{var}` and `{{ var }}`
 * substitute; the context decides the escaping; unknown names are refused when a template is
 * saved, with the known list; nothing is ever evaluated.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HooklineError } from '../src/errors.ts';
import { checkTemplate, formEncode, parseTemplate, render, renderTemplate, type Vars } from '../src/formats/template.ts';

const vars: Vars = { id: 'call_1', caller: '+919812345678', callee: '+15550002', duration: 23, bridge: null, ok: true };

test('{{var}}, {var} and {{ var }} all substitute; other braces are text', () => {
  assert.equal(renderTemplate('a={{id}} b={id} c={{ id }} d={{  id}}', 'text', vars), 'a=call_1 b=call_1 c=call_1 d=call_1');
  // seed 000's two spellings side by side
  assert.equal(renderTemplate('?caller={{caller}}&callee={callee}', 'url', vars), '?caller=%2B919812345678&callee=%2B15550002');
  // not placeholders: empty, digits first, spaces inside single braces, JSON objects
  for (const literal of ['{}', '{{}}', '{1a}', '{ id }', '{"id": 1}', '{{1}}', '{-x}']) {
    assert.equal(renderTemplate(literal, 'text', vars), literal, literal);
    assert.deepEqual(parseTemplate(literal, 'text').names, [], literal);
  }
  // names are collected once, in order of first use
  assert.deepEqual(parseTemplate('{{id}}{caller}{{ id }}{duration}', 'url').names, ['id', 'caller', 'duration']);
  // an unset or null variable renders empty in text contexts
  assert.equal(renderTemplate('[{{bridge}}][{{missing}}]', 'url', vars), '[][]');
});

test('URL context: values are URL-encoded, the template text is kept as written', () => {
  const v: Vars = { caller: '+91 98/12?&=#%', leg: 'from' };
  const out = renderTemplate('https://example.com/p/{{leg}}?caller={{caller}}&x=a+b', 'url', v);
  assert.equal(out, 'https://example.com/p/from?caller=%2B91%2098%2F12%3F%26%3D%23%25&x=a+b');
  assert.equal(new URL(out).searchParams.get('caller'), '+91 98/12?&=#%');
  assert.equal(renderTemplate('{{n}}|{{t}}|{{f}}', 'url', { n: 0, t: true, f: false }), '0|true|false');
  assert.equal(renderTemplate('{{u}}', 'url', { u: 'नमस्ते é' }), encodeURIComponent('नमस्ते é'));
});

test('JSON context: escaped inside strings, JSON values outside them', () => {
  const v: Vars = { s: 'say "hi"\n\tback\\slash </script> \u2028', n: 23, z: 0, b: false, nul: null, digits: '0042' };
  const tpl = '{"inside": "{{s}}", "num": {{n}}, "zero": {z}, "bool": {{ b }}, "nil": {{nul}}, "str": {{s}}, "missing": {{nope}}, "digits": {{digits}}, "numInString": "{{n}}"}';
  const out = renderTemplate(tpl, 'json', v);
  assert.deepEqual(JSON.parse(out), {
    inside: v.s, num: 23, zero: 0, bool: false, nil: null, str: v.s, missing: null, digits: '0042', numInString: '23',
  });
  // text around a placeholder inside a string stays part of that string
  assert.deepEqual(JSON.parse(renderTemplate('{"msg": "call {{n}} is \\"{{s}}\\" ok", "k": [{{n}}, "{{n}}"]}', 'json', v)), {
    msg: `call 23 is "${v.s}" ok`, k: [23, '23'],
  });
  // an escaped quote in the template text does not end the string; a null inside a string is ''
  assert.deepEqual(JSON.parse(renderTemplate('{"a\\"b": "x{{nul}}y", "c": {{nul}}}', 'json', v)), { 'a"b': 'xy', c: null });
  // the string state is tracked per template, not per placeholder
  const t = parseTemplate('{"a": "{{s}}", "b": {{s}}}', 'json');
  assert.deepEqual(t.segments.filter((seg) => 'name' in seg), [{ name: 's', inString: true }, { name: 's', inString: false }]);
  // a value can never break out of its string: quotes, newlines and braces stay data
  const evil = '", "admin": true, "x": "';
  assert.deepEqual(JSON.parse(renderTemplate('{"to": "{{to}}"}', 'json', { to: evil })), { to: evil });
  assert.deepEqual(JSON.parse(renderTemplate('{"to": {{to}}}', 'json', { to: evil })), { to: evil });
});

test('form context: values are form-encoded, spaces as +', () => {
  const v: Vars = { id: 'call_1', to: '+91 98&x=1', status: 'NO ANSWER', note: 'a\nb=c' };
  const out = renderTemplate('id={{id}}&to={to}&status={{ status }}&note={{note}}', 'form', v);
  assert.equal(out, 'id=call_1&to=%2B91+98%26x%3D1&status=NO+ANSWER&note=a%0Ab%3Dc');
  assert.deepEqual(Object.fromEntries(new URLSearchParams(out)), { id: 'call_1', to: '+91 98&x=1', status: 'NO ANSWER', note: 'a\nb=c' });
  assert.equal(formEncode('a b+c'), 'a+b%2Bc');
});

test('text context (headers): CR and LF cannot split a header', () => {
  assert.equal(renderTemplate('Bearer {{t}}', 'text', { t: 'abc\r\nX-Evil: 1' }), 'Bearer abc X-Evil: 1');
});

test('an unknown name is refused with the list of known names', () => {
  const known = ['call_id', 'caller', 'callee'];
  assert.equal(checkTemplate('https://x.test/?c={{caller}}&d={callee}', 'url', known, 'url').names.length, 2);
  assert.throws(() => checkTemplate('https://x.test/?c={{callr}}&d={nope}&e={{caller}}', 'url', known, 'url'), (e: unknown) => {
    assert.ok(e instanceof HooklineError);
    assert.equal(e.code, 'invalid_template');
    assert.equal(e.status, 400);
    assert.equal(e.field, 'url');
    assert.match(e.message, /\{\{callr\}\}/);
    assert.match(e.message, /\{\{nope\}\}/);
    assert.match(e.message, /known variables: call_id, caller, callee/);
    assert.deepEqual(e.errors?.map((x) => [x.field, x.code]), [['url', 'invalid_template']]);
    return true;
  });
  // names are case-sensitive
  assert.throws(() => checkTemplate('{{Caller}}', 'json', known, 'body'), /unknown variable \{\{Caller\}\}/);
});

test('no code execution: {{constructor}}, {{__proto__}}, {{a.b}} and friends are only names', () => {
  const known = ['caller'];
  const tricks = ['{{constructor}}', '{{__proto__}}', '{{a.b}}', '{{caller.length}}', '{{toString}}', '{{hasOwnProperty}}', '{constructor}', '{{ __proto__.polluted }}'];
  for (const tpl of tricks) {
    assert.throws(() => checkTemplate(tpl, 'json', known, 'body'), (e: unknown) => e instanceof HooklineError && e.code === 'invalid_template', tpl);
    // even rendered without a check, they are plain names with no value: never Object's properties
    assert.equal(renderTemplate(tpl, 'url', { caller: 'x' }), '', tpl);
    assert.equal(renderTemplate(`{"v": "${tpl}"}`, 'json', { caller: 'x' }), '{"v": ""}', tpl);
    assert.equal(renderTemplate(`{"v": ${tpl}}`, 'json', { caller: 'x' }), '{"v": null}', tpl);
  }
  // expressions are not names at all: left as written, never evaluated
  for (const expr of ['{{1+1}}', '{{caller()}}', '{{ process.exit(1) }}', '{{`x`}}', '{{#each x}}', '{{caller|upper}}', '{{{caller}}}x']) {
    const out = renderTemplate(expr, 'text', { caller: 'x' });
    if (expr === '{{{caller}}}x') assert.equal(out, '{x}x'); // the inner {{caller}}, braces around it kept
    else assert.equal(out, expr, expr);
  }
  // nothing was polluted
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  // a variable named like a prototype property is an ordinary own value when the format has it
  assert.equal(render(parseTemplate('{{constructor}}', 'url'), { constructor: 'a b' } as unknown as Vars), 'a%20b');
});
