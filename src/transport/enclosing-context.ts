/**
 * What an arrow function takes from the code around it without naming a variable: `this`, `arguments`,
 * `super` and `new.target`. An arrow has none of its own; compiled again in a worker, it would find the
 * worker's instead (`undefined`), and fail there with a TypeError, or quietly give `undefined`. So
 * `function-ref.ts` refuses an arrow that uses them when it was created inside a function, a method or a
 * class (whose `this` stays in this thread), as it refuses a local of an enclosing function.
 *
 * A `function`, a method or a class has its own, set by how it is called: a worker calls it as a plain
 * call, as `fn(...args)` here would (`this` is `undefined`), so nothing of the sender is lost and it
 * travels as before. At a module's top level an arrow's `this` is `undefined` in an ES module, as in
 * the worker; in CommonJS it is `module.exports`, which does not travel (`module-scope.ts`).
 */
import type * as Acorn from 'acorn';

type Node = Acorn.AnyNode;

/** What an arrow function can take from the function around it. */
export type ContextName = 'this' | 'arguments' | 'super' | 'new.target';

/** Why an arrow created inside a function cannot take `name` along, as refusals say it. */
export function enclosingContextReason(name: ContextName): string {
  return `the ${name} of the function, method or class it was created in (an arrow function has no ${name} of its own)`;
}

/** A node's child nodes, in source order. */
export function childNodes(node: Node): Node[] {
  const children: Node[] = [];
  for (const key of Object.keys(node)) {
    if (key === 'type' || key === 'start' || key === 'end' || key === 'range' || key === 'loc') continue;
    const value = (node as unknown as Record<string, unknown>)[key];
    if (Array.isArray(value)) {
      for (const item of value) if (item !== null && typeof item === 'object' && typeof (item as Node).type === 'string') children.push(item as Node);
    } else if (value !== null && typeof value === 'object' && typeof (value as Node).type === 'string') {
      children.push(value as Node);
    }
  }
  return children;
}

/** Whether `node` gives the code inside it a `this` of its own (a class's field and static block do). */
function bindsContext(node: Node): boolean {
  return node.type === 'FunctionExpression' || node.type === 'FunctionDeclaration' || node.type === 'PropertyDefinition' || node.type === 'StaticBlock';
}

/** `arguments` read as a variable, not as a property name, a key or a label. */
function isArgumentsReference(node: Acorn.Identifier, parent: Node): boolean {
  if (node.name !== 'arguments') return false;
  if (parent.type === 'MemberExpression') return parent.computed || parent.property !== node;
  if (parent.type === 'Property' || parent.type === 'MethodDefinition' || parent.type === 'PropertyDefinition') return parent.computed || parent.key !== node;
  return parent.type !== 'LabeledStatement' && parent.type !== 'BreakStatement' && parent.type !== 'ContinueStatement';
}

/**
 * The generator of a compiled async function's helper call, `__awaiter(this, void 0, void 0, function* () {…})`
 * (tsc, before ES2017) or `__async(this, null, function* () {…})` (esbuild): the helper runs it with that
 * `this`, so only its body's `this` is used; the argument alone (tsc writes it for every async arrow) is not.
 */
function forwardedGenerator(call: Acorn.CallExpression): Acorn.FunctionExpression | undefined {
  if (call.callee.type !== 'Identifier' || !call.callee.name.startsWith('__') || call.arguments[0]?.type !== 'ThisExpression') return undefined;
  const last = call.arguments.at(-1);
  return last?.type === 'FunctionExpression' && last.generator ? last : undefined;
}

/** What the arrow function `arrow` uses of the function around it, in the order of its source. */
export function contextUses(arrow: Acorn.ArrowFunctionExpression): ContextName[] {
  const found = new Set<ContextName>();
  // `thisOnly`: inside a forwarded generator, whose `arguments` and `new.target` are its own.
  const walk = (node: Node, parent: Node, thisOnly: boolean): void => {
    switch (node.type) {
      case 'ThisExpression':
        found.add('this');
        return;
      case 'Super':
        if (!thisOnly) found.add('super');
        return;
      case 'MetaProperty':
        if (!thisOnly && node.meta.name === 'new') found.add('new.target');
        return;
      case 'Identifier':
        if (!thisOnly && isArgumentsReference(node, parent)) found.add('arguments');
        return;
      case 'MethodDefinition':
      case 'PropertyDefinition':
        // Only a computed key is evaluated where the class is written.
        if (node.computed) walk(node.key, node, thisOnly);
        return;
      case 'CallExpression': {
        const generator = forwardedGenerator(node);
        if (generator !== undefined) {
          walk(node.callee, node, thisOnly);
          for (const argument of node.arguments.slice(1, -1)) walk(argument as Node, node, thisOnly);
          for (const child of childNodes(generator)) walk(child, generator, true);
          return;
        }
        break;
      }
      default:
        if (bindsContext(node)) return;
    }
    for (const child of childNodes(node)) walk(child, node, thisOnly);
  };
  for (const child of childNodes(arrow)) walk(child, arrow, false);
  return [...found];
}

/**
 * The nearest node around `target` in `root` that gives it a `this` of its own (a function, a method, a
 * class's field or static block); `undefined` when `target` sits in the module's top-level code.
 */
export function contextAround(root: Node, target: Node): Node | undefined {
  let around: Node | undefined;
  let node = root;
  while (node !== target) {
    const next = childNodes(node).find((child) => child.start <= target.start && target.end <= child.end);
    if (next === undefined) return around;
    if (next !== target && bindsContext(next)) around = next;
    node = next;
  }
  return around;
}
