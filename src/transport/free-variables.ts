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

const requireHere = createRequire(import.meta.url);
let acorn: typeof Acorn | undefined;
let eslintScope: typeof EslintScope | undefined;

/** The expression that evaluates to the function, for a source that `Function.prototype.toString` gave. */
export interface ParsedFunction {
  /** Source text that, evaluated as an expression, yields the function. */
  readonly expression: string;
  /** Names used by the function that are not declared inside it. */
  readonly freeVariables: readonly string[];
}

/**
 * `toString()` gives declarations (`function f() {}`), expressions, arrows, and also method shorthands
 * (`f(x) { … }`, `async *g() {}`) that are only valid inside an object literal.
 */
function expressionCandidates(source: string): string[] {
  return [`(${source}\n)`, `({${source}\n})`];
}

/** Parses a function's source; returns undefined when it is not JavaScript we can compile again (native code, classes' bodies). */
export function parseFunction(source: string): ParsedFunction | undefined {
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
    return { expression, freeVariables: [...free] };
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
