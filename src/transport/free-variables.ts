/**
 * Which outer variables a function's source uses. A function shipped by source is compiled again in
 * the worker, where only globals exist, so any other free variable would be `undefined` there.
 *
 * acorn parses; eslint-scope resolves scopes. Both load lazily (on the first function that crosses by
 * source), so workers that only receive functions pay nothing for them.
 */
import { createRequire } from 'node:module';
import type * as Acorn from 'acorn';
import type * as EslintScope from 'eslint-scope';
import { contextUses, type ContextName } from './enclosing-context.js';

const requireHere = createRequire(import.meta.url);
let acorn: typeof Acorn | undefined;
let eslintScope: typeof EslintScope | undefined;

/** The expression that evaluates to the function, for a source that `Function.prototype.toString` gave. */
export interface ParsedFunction {
  /** Source text that, evaluated as an expression, yields the function. */
  readonly expression: string;
  /** Names used by the function that are not declared inside it. */
  readonly freeVariables: readonly string[];
  /** For an arrow function: the `this`, `arguments`, `super`, `new.target` it takes from its creator. */
  readonly context: readonly ContextName[];
}

/**
 * `toString()` gives declarations (`function f() {}`), expressions, arrows, and also method shorthands
 * (`f(x) { … }`, `async *g() {}`) that are only valid inside an object literal.
 */
function expressionCandidates(source: string): string[] {
  return [`(${source}\n)`, `({${source}\n})`];
}

const KEYWORDS = new Set(
  ('arguments async await break case catch const continue default delete do else false finally for function if in ' +
    'instanceof let new null of return switch this throw true try typeof var void while yield').split(' '),
);
const HEADER =
  /^(?:async\s+)?(?:function\s*\*?\s*([A-Za-z_$][\w$]*)?\s*\(([^)]*)\)|\(([^)]*)\)\s*=>|([A-Za-z_$][\w$]*)\s*=>)/;
const ARROW_CONTEXT = /\b(?:this|arguments|super)\b|\bnew\s*\.\s*target\b/;
const PARAMETER = /^(?:\.\.\.)?[A-Za-z_$][\w$]*$/;
// An identifier-like run not preceded by a word character, `$` or `.` (so not a property name).
const IDENTIFIER = /(?<![\w$.])[A-Za-z_$][\w$]*/g;

/**
 * Without a parser: true only when every identifier-like word of a function or arrow is one of its
 * plain parameters, its own name, a keyword or a global, so that it cannot use an outer variable.
 * Anything it is unsure of (a local declaration, an object key, destructuring) answers false and
 * leaves the question to the parser. Most small functions sent to pools pass, and loading and running
 * the parser (about 20 ms the first time) then stays off the start-up path.
 */
function plainlySelfContained(source: string, isGlobal: (name: string) => boolean): boolean {
  const header = HEADER.exec(source);
  if (header === null) return false;
  // An arrow's `this` (and the like) is its creator's: whether it may travel is the parser's question.
  if ((header[3] ?? header[4]) !== undefined && ARROW_CONTEXT.test(source)) return false;
  const list = header[2] ?? header[3] ?? header[4] ?? '';
  const allowed = new Set<string>();
  if (header[1] !== undefined) allowed.add(header[1]);
  for (const raw of list.split(',')) {
    const parameter = raw.trim();
    if (parameter === '') continue;
    if (!PARAMETER.test(parameter)) return false;
    allowed.add(parameter.replace(/^\.\.\./, ''));
  }
  for (const [word] of source.matchAll(IDENTIFIER)) {
    if (!allowed.has(word) && !KEYWORDS.has(word) && !isGlobal(word)) return false;
  }
  return true;
}

/**
 * Parses a function's source; returns undefined when it is not JavaScript we can compile again (native
 * code, classes' bodies). `isGlobal` tells names that exist in every worker; it lets plainly
 * self-contained functions skip the parser.
 */
export function parseFunction(source: string, isGlobal: (name: string) => boolean = () => false): ParsedFunction | undefined {
  if (plainlySelfContained(source, isGlobal)) return { expression: `(${source}\n)`, freeVariables: [], context: [] };
  acorn ??= requireHere('acorn') as typeof Acorn;
  eslintScope ??= requireHere('eslint-scope') as typeof EslintScope;
  for (const [index, candidate] of expressionCandidates(source).entries()) {
    let program: Acorn.Program;
    try {
      program = acorn.parse(candidate, { ecmaVersion: 'latest', sourceType: 'script', ranges: true });
    } catch {
      continue;
    }
    const scopeManager = eslintScope.analyze(program as never, { ecmaVersion: 2022, sourceType: 'script' });
    const free = new Set<string>();
    for (const reference of scopeManager.globalScope?.through ?? []) free.add(reference.identifier.name);
    const expression = index === 0 ? candidate : `${candidate}[${JSON.stringify(methodName(program))}]`;
    const root = program.body[0];
    const arrow = root?.type === 'ExpressionStatement' && root.expression.type === 'ArrowFunctionExpression' ? root.expression : undefined;
    return { expression, freeVariables: [...free], context: arrow === undefined ? [] : contextUses(arrow) };
  }
  return undefined;
}

function methodName(program: Acorn.Program): string {
  const statement = program.body[0];
  if (statement?.type === 'ExpressionStatement' && statement.expression.type === 'ObjectExpression') {
    const property = statement.expression.properties[0];
    if (property?.type === 'Property') {
      const key = property.key;
      if (key.type === 'Identifier') return key.name;
      if (key.type === 'Literal') return String(key.value);
    }
  }
  return '';
}
