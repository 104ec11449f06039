// A module of the smoke program's own: its exports cross by { module, name } (found by the inspector on
// Node, among the caller's imports on Bun and Deno), so a class instance arrives as its class.
export class Point {
  constructor(
    public x: number,
    public y: number,
  ) {}

  norm2(): number {
    return this.x * this.x + this.y * this.y;
  }
}

export function cube(x: number): number {
  return x * x * x;
}

export function normOf(p: Point): [norm2: number, sameClass: boolean] {
  return [p.norm2(), p instanceof Point];
}
