/**
 * What a function needs from its module to run elsewhere: the parent side of shipping a function with
 * its globals, as cloudpickle does for Python (the worker side is `scope-compile.ts`).
 *
 * The module's source, as V8 compiled it (so TypeScript run under tsx and tsc's output of any target
 * work alike), is parsed with acorn and its scopes resolved with eslint-scope. Every outer variable the
 * function uses must be a top-level binding of its module, and each of those is one of:
 * - an import (`import { createHash } from 'node:crypto'`): the worker imports it again, resolved from
 *   the function's own module;
 * - a function, a class, or a variable whose initialiser is code rather than state (a function or
 *   class expression, `require('x')`, tsc's `var __x = (this && this.__x) || …` helpers and ES5 class
 *   IIFEs, a global's property such as `Object.defineProperty`, another top-level binding): its source
 *   is shipped along, recursively, so mutual recursion and compiled helpers (`__awaiter`, `__using`,
 *   `__importDefault`, `__decorate` with its `C = __decorate([…], C)` statement) travel too;
 * - any other variable never assigned again (a `const`, or a `let` nobody reassigns): its value, read
 *   through the inspector when the function first crosses, travels as a snapshot.
 * A variable assigned after its declaration qualifies only when every assignment is top-level code that
 * travels too (tsc's decorators). Anything else (a reassigned `let`, a local of an enclosing function,
 * `exports`, an arrow's `this` from the function around it: `enclosing-context.ts`) is refused with the
 * variable named. Each source piece keeps its line and column, so the worker can compile it at the same
 * place in the same file: stack frames then point into the user's module.
 */
import { createRequire } from 'node:module';
import type * as Acorn from 'acorn';
import type * as EslintScope from 'eslint-scope';
import type { PieceMappings } from './stack-frames.js';
import { childNodes, contextAround, contextUses, enclosingContextReason } from './enclosing-context.js';

const requireHere = createRequire(import.meta.url);

/** A piece of the module's source, placed at its line and column (both from 0) when compiled again. */
export interface ScopePiece {
  readonly line: number;
  readonly column: number;
  /** Text written just before the position (`const ` for one declarator of several). */
  readonly prefix: string;
  readonly text: string;
  readonly suffix: string;
}

/** An import the worker makes again: `imported` is a name, `'default'`, or `'*'` for the namespace. */
export interface ScopeImport {
  readonly local: string;
  readonly specifier: string;
  readonly imported: string;
}

/** Everything but the captured values: the same for every call of one function. */
export interface WireScope {
  /** The script as V8 names it (a file URL for an ES module, a path for CommonJS). */
  readonly file: string;
  readonly commonJs: boolean;
  readonly imports: readonly ScopeImport[];
  /** Names whose values travel beside the scope, as a snapshot. */
  readonly captured: readonly string[];
  /** Source pieces in the order of the file. */
  readonly pieces: readonly ScopePiece[];
  /** The expression, after the pieces, that yields the function. */
  readonly result: string;
  /** The part of the file's source map that covers the pieces, when the program has one (tsx). */
  readonly mappings?: PieceMappings;
}

/** The variable that holds a function that is not a top-level declaration (an arrow passed inline). */
export const INLINE_TARGET = '$$mp';

/** esbuild's keepNames helper `__name` (tsx's output calls it), which every function shipped by source is given. */
export const keepNamesHelper = (target: Function, value: string): Function =>
  Object.defineProperty(target, 'name', { value, configurable: true });

/** What CommonJS gives every module, which the worker gives a function from a CommonJS module too. */
export const COMMONJS_PROVIDED: readonly string[] = ['require', '__filename', '__dirname'];

type Node = Acorn.AnyNode;

interface ModuleAnalysis {
  readonly source: string;
  readonly lineStarts: number[];
  readonly program: Acorn.Program;
  readonly scopes: EslintScope.ScopeManager;
  readonly top: EslintScope.Scope;
}

const analyses = new Map<string, ModuleAnalysis | null>();

/** Parses a module once (keyed by its script id); null when it does not parse. */
function analyseModule(key: string, source: string, commonJs: boolean): ModuleAnalysis | null {
  const cached = analyses.get(key);
  if (cached !== undefined) return cached;
  const acorn = requireHere('acorn') as typeof Acorn;
  const eslintScope = requireHere('eslint-scope') as typeof EslintScope;
  let analysis: ModuleAnalysis | null = null;
  try {
    const program = acorn.parse(source, {
      ecmaVersion: 'latest',
      sourceType: commonJs ? 'script' : 'module',
      allowHashBang: true,
      allowReturnOutsideFunction: commonJs,
      ranges: true,
    });
    const scopes = eslintScope.analyze(program as never, {
      ecmaVersion: 2022,
      sourceType: commonJs ? 'script' : 'module',
      nodejsScope: commonJs,
    });
    const top = scopes.scopes.find((s) => (s.block as unknown) === program && s.type !== 'global') ?? scopes.globalScope!;
    const lineStarts = [0];
    for (let i = source.indexOf('\n'); i >= 0; i = source.indexOf('\n', i + 1)) lineStarts.push(i + 1);
    analysis = { source, lineStarts, program, scopes, top };
  } catch {
    analysis = null;
  }
  // A few modules at most: an analysis holds the module's syntax tree.
  if (analyses.size >= 8) analyses.delete(analyses.keys().next().value!);
  analyses.set(key, analysis);
  return analysis;
}

function position(analysis: ModuleAnalysis, offset: number): { line: number; column: number } {
  let low = 0;
  let high = analysis.lineStarts.length - 1;
  while (low < high) {
    const middle = (low + high + 1) >> 1;
    if (analysis.lineStarts[middle]! <= offset) low = middle;
    else high = middle - 1;
  }
  return { line: low, column: offset - analysis.lineStarts[low]! };
}

/** Why a function cannot be shipped with its module's bindings: the variables and a reason each. */
export class ScopeRefusal {
  constructor(readonly problems: readonly { name: string; reason: string }[]) {}
}

/** What `analyseScope` asks of its caller: the module source and the function's place in it. */
export interface FunctionSite {
  readonly scriptId: string;
  /** As stack frames name it: a file URL for an ES module, a path for CommonJS. */
  readonly file: string;
  readonly commonJs: boolean;
  readonly source: string;
  /** Offset of the function's `[[FunctionLocation]]` in `source`. */
  readonly offset: number;
  /** The function's own text (`Function.prototype.toString`). */
  readonly text: string;
}

/** The analysis: the scope, and the names whose values the caller must read and send. */
export interface ScopePlan {
  readonly scope: WireScope;
  readonly captured: readonly string[];
}

/**
 * Plans how `site`'s function crosses with its module's bindings; a `ScopeRefusal` names what cannot
 * cross; undefined when the module or the function cannot be found in the source.
 */
export function planScope(site: FunctionSite, isGlobal: (name: string) => boolean, provided: ReadonlySet<string>): ScopePlan | ScopeRefusal | undefined {
  const commonJs = site.commonJs;
  const analysis = analyseModule(site.scriptId, site.source, commonJs);
  if (analysis === null) return undefined;
  const fnNode = findFunctionNode(analysis.program, site.offset, site.text, analysis.source);
  if (fnNode === undefined) return undefined;

  const topLevel = topLevelDeclarations(analysis);
  const imports: ScopeImport[] = [];
  const captured: string[] = [];
  const pieces = new Map<Node, ScopePiece>();
  const problems: { name: string; reason: string }[] = [];
  const seen = new Set<string>();
  const laterWrites: EslintScope.Reference[] = [];

  const refuse = (name: string, reason: string): void => {
    if (!problems.some((p) => p.name === name)) problems.push({ name, reason });
  };
  // `own` is false for the pieces shipped along: a global they test for (`typeof SuppressedError`) is
  // looked up in the worker as it was here.
  const visit = (range: readonly [number, number], own: boolean): void => {
    for (const reference of referencesIn(analysis, range)) {
      const name = reference.identifier.name;
      const variable = reference.resolved;
      if (variable === null || variable.scope !== analysis.top) {
        if (variable !== null) {
          refuse(name, 'a local variable of an enclosing function');
        } else if (commonJs && (name === 'exports' || name === 'module')) {
          refuse(name, 'the CommonJS module object, which only the module itself has');
        } else if (own && !isGlobal(name) && !provided.has(name) && !(commonJs && COMMONJS_PROVIDED.includes(name))) {
          refuse(name, 'not declared in its module');
        }
        continue;
      }
      if (seen.has(name) || provided.has(name)) continue;
      seen.add(name);
      const binding = topLevel.get(name);
      const definition = variable.defs[0];
      if (definition?.type === 'ImportBinding') {
        const specifier = definition.node;
        const statement = definition.parent as unknown as Acorn.ImportDeclaration;
        imports.push({ local: name, specifier: String(statement.source.value), imported: importedName(specifier as unknown as Node) });
        continue;
      }
      const writes = variable.references.filter((r) => r.isWrite() && !r.init);
      if (binding !== undefined && binding.shipsAsCode) {
        // Assignments made while the module's top level runs are fine if they travel too (checked below).
        laterWrites.push(...writes);
        if (!pieces.has(binding.node)) {
          pieces.set(binding.node, piece(analysis, binding));
          visit(binding.range, false);
          for (const statement of binding.decorations) {
            pieces.set(statement, { ...position(analysis, statement.start), prefix: '', text: analysis.source.slice(statement.start, statement.end), suffix: '' });
            visit([statement.start, statement.end], false);
          }
        }
      } else if (writes.length > 0) {
        refuse(name, 'a variable that is assigned again after its declaration');
      } else {
        captured.push(name);
      }
    }
  };

  if (fnNode.type === 'ArrowFunctionExpression') {
    // An arrow's `this` is its creator's (enclosing-context.ts): at an ES module's top level it is
    // `undefined`, as in the worker; anywhere else it is what stays here.
    const around = contextAround(analysis.program, fnNode);
    for (const name of contextUses(fnNode)) {
      if (around !== undefined) refuse(name, enclosingContextReason(name));
      else if (commonJs) refuse(name, `the ${name} of its CommonJS module, which only the module itself has`);
    }
  }
  const ownRange: [number, number] = [fnNode.start, fnNode.end];
  visit(ownRange, true);
  const shipped = [...pieces.keys()];
  for (const write of laterWrites) {
    const at = write.identifier as unknown as Node;
    const travels = write.from === analysis.top && shipped.some((node) => node.start <= at.start && at.end <= node.end);
    if (!travels) refuse(write.identifier.name, 'a variable that is assigned again after its declaration');
  }
  if (problems.length > 0) return new ScopeRefusal(problems);

  const own = [...topLevel.values()].find((b) => b.shipsAsCode && b.functionNode === fnNode);
  let result: string;
  if (own !== undefined) {
    if (!pieces.has(own.node)) pieces.set(own.node, piece(analysis, own));
    result = own.name;
  } else {
    const at = position(analysis, fnNode.start);
    // A method shorthand (`{ run(x) { … } }`) is valid only inside an object literal.
    const method = fnNode.type === 'Property' ? JSON.stringify(propertyName(fnNode)) : undefined;
    pieces.set(fnNode, {
      ...at,
      prefix: method === undefined ? `${INLINE_TARGET} = (` : `${INLINE_TARGET} = ({`,
      text: site.text,
      suffix: method === undefined ? ');' : `})[${method}];`,
    });
    result = INLINE_TARGET;
  }
  const ordered = [...pieces.entries()].sort(([a], [b]) => a.start - b.start).map(([, p]) => p);
  return { scope: { file: site.file, commonJs, imports, captured, pieces: ordered, result }, captured };
}

function importedName(specifier: Node): string {
  if (specifier.type === 'ImportDefaultSpecifier') return 'default';
  if (specifier.type === 'ImportNamespaceSpecifier') return '*';
  if (specifier.type === 'ImportSpecifier') {
    return specifier.imported.type === 'Identifier' ? specifier.imported.name : String(specifier.imported.value);
  }
  return 'default';
}

/** The references made from inside `range` (any scope within it). */
function referencesIn(analysis: ModuleAnalysis, [start, end]: readonly [number, number]): EslintScope.Reference[] {
  const found: EslintScope.Reference[] = [];
  for (const scope of analysis.scopes.scopes) {
    for (const reference of scope.references) {
      const at = (reference.identifier as unknown as Node).start;
      if (at >= start && at < end) {
        // A name declared inside the range (a parameter, a local, `arguments`) is not an outer variable.
        const variable = reference.resolved;
        if (variable !== null && variable.scope !== analysis.top) {
          const block = variable.scope.block as unknown as Node;
          if (block.start >= start && block.start < end) continue;
        }
        found.push(reference);
      }
    }
  }
  return found;
}

interface TopLevelBinding {
  readonly name: string;
  /** The node whose text is shipped (a declaration, or one declarator). */
  readonly node: Node;
  readonly range: readonly [number, number];
  /** `const ` and the like, for one declarator of several. */
  readonly prefix: string;
  readonly suffix: string;
  readonly shipsAsCode: boolean;
  /** The function this binding names, when it is one. */
  readonly functionNode: Node | undefined;
  /** tsc's legacy decorators, `C = __decorate([…], C);`: statements that travel with the class. */
  readonly decorations: Node[];
}

function topLevelDeclarations(analysis: ModuleAnalysis): Map<string, TopLevelBinding> {
  const bindings = new Map<string, TopLevelBinding>();
  for (const statement of analysis.program.body) {
    let declaration: Node | null | undefined = statement;
    if (statement.type === 'ExportNamedDeclaration') declaration = statement.declaration;
    else if (statement.type === 'ExportDefaultDeclaration') declaration = statement.declaration as Node;
    if (declaration === null || declaration === undefined) continue;
    if ((declaration.type === 'FunctionDeclaration' || declaration.type === 'ClassDeclaration') && declaration.id) {
      const name = declaration.id.name;
      bindings.set(name, {
        name,
        node: declaration,
        range: [declaration.start, declaration.end],
        prefix: '',
        suffix: '',
        shipsAsCode: true,
        functionNode: declaration,
        decorations: [],
      });
    } else if (declaration.type === 'VariableDeclaration') {
      const single = declaration.declarations.length === 1;
      for (const declarator of declaration.declarations) {
        const init = declarator.init ?? null;
        const node: Node = single ? declaration : declarator;
        // `const { createHash } = require('node:crypto')` binds several names with one piece of code.
        const names = declarator.id.type === 'Identifier' ? [declarator.id.name] : patternNames(declarator.id as Node);
        for (const name of names) bindings.set(name, {
          name,
          node,
          range: [declarator.start, declarator.end],
          prefix: single ? '' : `${declaration.kind} `,
          suffix: single ? '' : ';',
          // `var C_1;` is assigned, if at all, by statements that must travel with it.
          shipsAsCode: init === null || isCode(init, analysis),
          functionNode: init === null || declarator.id.type !== 'Identifier' ? undefined : unwrapFunction(init),
          decorations: [],
        });
      }
    }
  }
  for (const statement of analysis.program.body) {
    const name = decoratedName(statement);
    if (name !== undefined) bindings.get(name)?.decorations.push(statement);
  }
  return bindings;
}

/** `C = __decorate([…], C);` → `'C'` (tsc's legacy decorators; esbuild's `__decorateElement` too). */
function decoratedName(statement: Node): string | undefined {
  if (statement.type !== 'ExpressionStatement') return undefined;
  const assignment = statement.expression;
  if (assignment.type !== 'AssignmentExpression' || assignment.operator !== '=' || assignment.left.type !== 'Identifier') return undefined;
  let call = assignment.right;
  // `C = C_1 = __decorate([…], C);`
  while (call.type === 'AssignmentExpression' && call.operator === '=' && call.left.type === 'Identifier') call = call.right;
  if (call.type !== 'CallExpression' || call.callee.type !== 'Identifier' || !/^__decorate/.test(call.callee.name)) return undefined;
  const last = call.arguments.at(-1);
  return last?.type === 'Identifier' && last.name === assignment.left.name ? last.name : undefined;
}

/** The names a destructuring pattern binds (`{ a, b: c, ...rest }` → a, c, rest). */
function patternNames(pattern: Node): string[] {
  switch (pattern.type) {
    case 'Identifier':
      return [pattern.name];
    case 'ObjectPattern':
      return pattern.properties.flatMap((property) =>
        patternNames((property.type === 'RestElement' ? property.argument : property.value) as Node),
      );
    case 'ArrayPattern':
      return pattern.elements.flatMap((element) => (element === null ? [] : patternNames(element as Node)));
    case 'AssignmentPattern':
      return patternNames(pattern.left as Node);
    case 'RestElement':
      return patternNames(pattern.argument as Node);
    default:
      return [];
  }
}

function piece(analysis: ModuleAnalysis, binding: TopLevelBinding): ScopePiece {
  const at = position(analysis, binding.node.start);
  return { ...at, prefix: binding.prefix, text: analysis.source.slice(binding.node.start, binding.node.end), suffix: binding.suffix };
}

function isFunctionLike(node: Node): boolean {
  return node.type === 'FunctionExpression' || node.type === 'ArrowFunctionExpression' || node.type === 'ClassExpression';
}

// esbuild's keepNames (tsx) wraps functions as `__name(fn, "name")`.
function unwrapFunction(node: Node): Node | undefined {
  if (isFunctionLike(node)) return node;
  if (node.type === 'CallExpression' && node.callee.type === 'Identifier' && node.callee.name === '__name' && node.arguments[0] !== undefined) {
    return unwrapFunction(node.arguments[0] as Node);
  }
  return undefined;
}

function isRequireCall(node: Node): boolean {
  return (
    node.type === 'CallExpression' &&
    node.callee.type === 'Identifier' &&
    node.callee.name === 'require' &&
    node.arguments.length === 1 &&
    node.arguments[0]!.type === 'Literal'
  );
}

/** An initialiser that is code rather than state: evaluating it again in the worker is the same. */
function isCode(init: Node, analysis: ModuleAnalysis): boolean {
  // tsc's `let C = C_1 = class C {…}`
  if (init.type === 'AssignmentExpression' && init.operator === '=' && init.left.type === 'Identifier') return isCode(init.right, analysis);
  if (unwrapFunction(init) !== undefined) return true;
  // Another top-level binding (`let Greeter = _Greeter`): the same value there, whatever it is.
  if (init.type === 'Identifier') return analysis.top.variables.some((v) => v.name === init.name);
  if (isRequireCall(init)) return true;
  // tsc's `__importDefault(require("x"))`, esbuild's `__toESM(require("x"))`
  if (init.type === 'CallExpression' && init.callee.type === 'Identifier' && init.arguments.length >= 1 && isRequireCall(init.arguments[0] as Node)) return true;
  // tsc's helpers: `var __awaiter = (this && this.__awaiter) || function (…) {…}`
  if (init.type === 'LogicalExpression' && init.operator === '||' && init.left.type === 'LogicalExpression' && init.left.left.type === 'ThisExpression') return true;
  // tsc's ES5 classes: `var C = /** @class */ (function (_super) { function C() {…} …; return C; }(Base))`
  if (init.type === 'CallExpression' && returnsFunction(init.callee as Node)) return true;
  // a global's property, such as esbuild's `var __defProp = Object.defineProperty`
  let object: Node = init;
  while (object.type === 'MemberExpression' && !object.computed) object = object.object as Node;
  if (object !== init && object.type === 'Identifier') {
    const name = object.name;
    return !analysis.top.variables.some((v) => v.name === name);
  }
  return false;
}

/** A function expression whose body ends by returning a function it declares (an ES5 class's IIFE). */
function returnsFunction(callee: Node): boolean {
  if (callee.type !== 'FunctionExpression' && callee.type !== 'ArrowFunctionExpression') return false;
  if (callee.body.type !== 'BlockStatement') return false;
  const last = callee.body.body.at(-1);
  if (last?.type !== 'ReturnStatement' || last.argument === null || last.argument === undefined) return false;
  let returned = last.argument as Node;
  // tsc's class decorators: `let C = (() => { …; var C = class {…}; …; return C = _classThis; })()`
  if (returned.type === 'AssignmentExpression' && returned.left.type === 'Identifier') returned = returned.left;
  if (isFunctionLike(returned)) return true;
  return (
    returned.type === 'Identifier' &&
    callee.body.body.some(
      (statement) =>
        ((statement.type === 'FunctionDeclaration' || statement.type === 'ClassDeclaration') && statement.id?.name === returned.name) ||
        (statement.type === 'VariableDeclaration' &&
          statement.declarations.some((d) => d.id.type === 'Identifier' && d.id.name === returned.name && d.init != null && isFunctionLike(d.init as Node))),
    )
  );
}

function propertyName(property: Acorn.Property | Acorn.AssignmentProperty): string {
  const key = property.key;
  return key.type === 'Identifier' ? key.name : key.type === 'Literal' ? String(key.value) : '';
}

/** The function or class node (or object method) at `offset` whose text is `text` (a nested function of the same text never matches). */
function findFunctionNode(program: Acorn.Program, offset: number, text: string, source: string): Node | undefined {
  let found: Node | undefined;
  const walk = (node: Node): void => {
    if (found !== undefined || node.start > offset || node.end < offset) return;
    if (
      (node.type === 'FunctionDeclaration' || node.type === 'FunctionExpression' || node.type === 'ArrowFunctionExpression' ||
        node.type === 'ClassDeclaration' || node.type === 'ClassExpression' ||
        (node.type === 'Property' && node.method && !node.computed)) &&
      node.end - node.start === text.length &&
      source.startsWith(text, node.start)
    ) {
      found = node;
      return;
    }
    for (const child of childNodes(node)) walk(child);
  };
  walk(program as Node);
  return found;
}
