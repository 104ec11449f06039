// Compile-time checks of ShareableList's index access (`npm run typecheck`): items typed by what the list
// was made from (widened: a list of numbers, not of the literals it started with), or given when attaching.
import { ShareableList } from '../../src/index.js';

export function check(): void {
  const numbers = new ShareableList([1, 2, 3]);
  const n: number = numbers[0];
  numbers[-1] = 42;
  numbers.set(0, 7);
  // @ts-expect-error: a list made of numbers takes numbers
  numbers[0] = 'x';
  const mixed = new ShareableList([1, 'two', 3n, true, null]);
  const item: number | string | bigint | boolean | null = mixed[2];
  mixed[1] = false;
  // @ts-expect-error: not an item type
  mixed[0] = {};
  const flags = new ShareableList([true, false]);
  const flag: boolean = flags[0];
  const attached = new ShareableList<string>(null, { name: 'psm_x' });
  const s: string = attached[-1];
  const any = new ShareableList(null, { name: 'psm_x' });
  any[0] = new Uint8Array(2);
  const all: number[] = [...numbers];
  const copy: string[] = attached.toArray();
  const length: number = numbers.length;
  // @ts-expect-error: attaching needs the name
  new ShareableList(null);
  void [n, item, flag, s, all, copy, length];
}
