// `this` and the function around an arrow: an arrow created in a method or a function takes its
// creator's `this` (`arguments`, `super`, `new.target`), which stays here, so it is refused at the
// call with ERR_MP_FUNCTION_UNSENDABLE, naming it and the fix, as a local of an enclosing function is.
// A `function`, a method or a class has its own `this`, and still travels; so does tsc's compiled async
// arrow, which only passes `this` on to its helper.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { ctx, test } from '../fixtures/context.js';
import { toWireFunction } from '../../src/transport/pack.js';
import { Scaler, getCountTo } from '../fixtures/transport/this-functions.js';

const T = { timeout: 30_000 };
// At an ES module's top level, `this` is undefined.
const topLevelThis = (): string => typeof (this as unknown);

/** Asserts the refusal an arrow gets for using its creator's `name`. */
function refusedFor(name: string): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(error instanceof TypeError, String(error));
    assert.equal((error as TypeError & { code?: string }).code, 'ERR_MP_FUNCTION_UNSENDABLE');
    assert.match(error.message, new RegExp(`uses variables from outside its body \\('${name}'\\)`));
    assert.match(error.message, new RegExp(`'${name}' is the ${name} of the function, method or class it was created in \\(an arrow function has no ${name} of its own\\)`));
    assert.match(error.message, /Fix: pass that value as an argument/);
    return true;
  };
}

async function withPool(body: (pool: InstanceType<typeof ctx.Pool>) => Promise<void>): Promise<void> {
  const pool = new ctx.Pool(1);
  try {
    await body(pool);
  } finally {
    await pool.terminate();
  }
}

test('an arrow over this, written in a class method of the entry script, is refused at the call', T, () =>
  withPool(async (pool) => {
    class Local {
      factor = 3;
      scaleAll(xs: number[]): Promise<number[]> {
        return pool.map((x: number) => x * this.factor, xs);
      }
    }
    await assert.rejects(new Local().scaleAll([1, 2]), refusedFor('this'));
  }));

test("an arrow reading this?.x in an object's method is refused rather than giving undefined", T, () =>
  withPool(async (pool) => {
    const settings = {
      limit: 10,
      check(): Promise<unknown> {
        return pool.apply(() => (this as { limit?: number } | undefined)?.limit, []);
      },
    };
    await assert.rejects(settings.check(), refusedFor('this'));
  }));

test('an arrow over this made in a method of another module, not exported, is refused; also as a Process target', T, () =>
  withPool(async (pool) => {
    const scaling = new Scaler().scaling();
    await assert.rejects(pool.apply(scaling, [2]), refusedFor('this'));
    assert.throws(() => new ctx.Process({ target: scaling, args: [2] }), refusedFor('this'));
    assert.throws(() => toWireFunction({ nested: scaling }.nested, 'args[0].fn'), /^TypeError: args\[0\]\.fn uses variables from outside its body \('this'\)/);
  }));

test("an arrow's arguments, super and new.target of the function around it are refused too", T, () =>
  withPool(async (pool) => {
    function count(..._xs: number[]): Promise<number> {
      return pool.apply(() => arguments.length, []);
    }
    await assert.rejects(count(1, 2), refusedFor('arguments'));
    class Base {
      base(): number {
        return 1;
      }
    }
    class Derived extends Base {
      viaSuper(): Promise<number> {
        return pool.apply(() => super.base() + 1, []);
      }
    }
    await assert.rejects(new Derived().viaSuper(), refusedFor('super'));
    let made: Promise<boolean> | undefined;
    function Made(): void {
      made = pool.apply(() => new.target !== undefined, []);
    }
    new (Made as unknown as new () => unknown)();
    await assert.rejects(made!, refusedFor('new.target'));
  }));

test('a CommonJS module: an arrow reading the module\'s top-level this (its exports) is refused', T, () => {
  const { getUnderLimit } = createRequire(import.meta.url)('../fixtures/transport/top-level-this.cjs') as { getUnderLimit: () => (n: number) => boolean };
  const underLimit = getUnderLimit();
  assert.equal(underLimit(5), true);
  assert.throws(() => toWireFunction(underLimit, 'fn'), /'this' is the this of its CommonJS module, which only the module itself has/);
});

test('functions with a this of their own still travel: a function, a method, a class of their module, a nested function', T, () =>
  withPool(async (pool) => {
    // A plain function or a detached method is called as fn(...args) is here: `this` is undefined.
    function plain(this: unknown): string {
      return this === undefined ? 'no this' : typeof this;
    }
    assert.equal(plain.call(undefined), 'no this');
    assert.equal(await pool.apply(plain, []), 'no this');
    const scaler = new Scaler();
    assert.equal(await pool.apply(scaler.describe, []), 'no this');
    // A class whose methods use this, shipped along with the function that uses it.
    assert.equal(await pool.apply(getCountTo(), [4]), 5);
    // An arrow in a method that uses none of the method's this, with a function of its own inside.
    class Local {
      run(xs: number[]): Promise<string[]> {
        return pool.map((x: number) => {
          function own(this: unknown): string {
            return this === undefined ? `own ${x}` : 'borrowed';
          }
          return own();
        }, xs);
      }
    }
    assert.deepEqual(await new Local().run([1, 2]), ['own 1', 'own 2']);
  }));

test('an arrow at an ES module\'s top level that reads this travels: undefined here and there', T, () =>
  withPool(async (pool) => {
    assert.equal(topLevelThis(), 'undefined');
    assert.equal(await pool.apply(topLevelThis, []), 'undefined');
  }));

test("tsc's async arrow for ES2015, __awaiter(this, …), travels from a method; refused when its body uses this", T, () =>
  withPool(async (pool) => {
    const scaler = new Scaler();
    assert.deepEqual(await pool.map(scaler.compiledDoubling(), [1, 2]), [2, 4]);
    assert.equal(await scaler.compiledScaling()(2), 6);
    await assert.rejects(pool.apply(scaler.compiledScaling(), [2]), refusedFor('this'));
  }));
