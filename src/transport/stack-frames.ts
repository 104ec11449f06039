/**
 * Stack frames of functions shipped by source, read back as positions in the user's files, so an error
 * thrown in a worker reads like Python's traceback into the user's module.
 *
 * - A function shipped alone is compiled in the worker by `new Function` (`sourceBody`): its frames read
 *   `multiprocessing:<name>~<origin>:line:col`, as in a module whose line 2 is `export default <its
 *   source>`. Where it came from is known only in the parent, which looks it up with the inspector when
 *   such a frame arrives (never on the fast path of a call): its `Placement`. A `Process` child prints
 *   its own error, so the parent sends its target's placement along (`placedWireFunctionOf`), and the
 *   child places the frames itself, the same way.
 * - A function shipped with its module's scope is compiled at its own lines and columns under its
 *   file's name, marked `?multiprocessing`: its frames are already right under plain node. Under tsx
 *   (the program's source maps are on), the parent sends along the part of the file's source map that
 *   covers the shipped pieces, and the worker maps the frames to the TypeScript source itself, so a
 *   `Process` child printing its own error shows the .ts line and column too.
 */
import { findSourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';
import { findFunctionPlace, isCommonJsModule, offsetIn, scriptSource } from './function-location.js';
import type { ScopePiece } from './module-scope.js';

/** Appended to the file name of code compiled in a worker, so its frames can be told apart. */
export const COMPILED_MARK = '?multiprocessing';

/** A source map's segments for the shipped pieces: [line, column, original line, original column]… */
export interface PieceMappings {
  /** The original file (a URL or a path), as the source map names it. */
  readonly source: string;
  readonly segments: readonly number[];
}

// ---- functions shipped alone -------------------------------------------------------------------

/** A function's source as it is compiled: a function expression as a declaration, anything else in parentheses. */
export function asDeclaration(expression: string): string {
  return /^\((async\s+)?function\b/.test(expression) && expression.endsWith('\n)') ? expression.slice(1, -2) : `(${expression})`;
}

// Frames are read as positions in a module whose line 2 is `export default <declaration>`.
const DECLARATION_COLUMN = 'export default '.length;
// `new Function` puts its body on line 3 (after `function anonymous(<parameters>\n) {`), and the body
// starts with the strict directive: the declaration is on line 4, 2 below where frames place it.
const SOURCE_LINES_BELOW = 2;
const NAMED_DECLARATION = /^(?:async\s+)?function\s*\*?\s*([\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*)\s*\(/u;

/**
 * The body for `new Function('__name', body)` that returns the function shipped alone as `expression`,
 * named `label` in its frames. A named function is declared, then returned, as a module's declaration
 * would be: its calls to itself then run as fast as in the module it came from.
 */
export function sourceBody(expression: string, label: string): string {
  const declaration = asDeclaration(expression);
  const name = NAMED_DECLARATION.exec(declaration)?.[1];
  const returned =
    name === undefined
      ? `return${' '.repeat(DECLARATION_COLUMN - 'return'.length)}${declaration};`
      : `${' '.repeat(DECLARATION_COLUMN)}${declaration}\nreturn ${name};`;
  return `"use strict";\n${returned}\n//# sourceURL=${SOURCE_URL}${label}`;
}

/** How compiled code names a function: `<name>~<origin>`. */
export function dataModuleLabel(name: string, origin: number | undefined): string {
  return (name || 'anonymous').replace(/[^\w$.-]/g, '_') + (origin === undefined ? '' : `~${origin}`);
}

// Functions shipped alone, by origin: held weakly, forgotten with the function.
const origins = new Map<number, { readonly fn: WeakRef<Function>; readonly expression: string }>();
const forget = new FinalizationRegistry<number>((origin) => origins.delete(origin));
let lastOrigin = 0;

/** Registers a function shipped alone; its frames carry the returned origin. */
export function rememberOrigin(fn: Function, expression: string): number {
  lastOrigin += 1;
  origins.set(lastOrigin, { fn: new WeakRef(fn), expression });
  forget.register(fn, lastOrigin);
  return lastOrigin;
}

const SOURCE_URL = 'multiprocessing-source:';
const SOURCE_FRAME = /multiprocessing-source:([\w$.~-]+):(\d+):(\d+)/g;
const COMPILED_FRAME = /([^\s(]+)\?multiprocessing:(\d+):(\d+)/g;
const ORIGIN_FRAME = /multiprocessing:([\w$.-]+)~(\d+):(\d+):(\d+)/g;

// ---- placing a function shipped alone ----------------------------------------------------------

/** Where a function shipped alone sits in the user's file: found in the parent, used on either side. */
export interface Placement {
  /** The file as node names it in frames: an ES module by URL, CommonJS by path. */
  readonly file: string;
  /** Line and column (0-based) of the function's text in the script as V8 compiled it. */
  readonly line: number;
  readonly column: number;
  /** Columns before the function's text on line 2 of the data module (see `sourceBody`). */
  readonly prefix: number;
  /** The program's source map over the function's text (tsx's, say), if it has one. */
  readonly mappings?: PieceMappings;
}

/** In the parent: where `fn`, shipped alone as `expression`, sits (the inspector, once per function). */
export function placementOf(fn: Function, expression: string): Placement | undefined {
  const place = findFunctionPlace(fn);
  if (place === undefined) return undefined;
  const text = Function.prototype.toString.call(fn);
  const source = scriptSource(place.scriptId);
  const start = source.lastIndexOf(text, offsetIn(source, place));
  if (start < 0) return undefined;
  const before = source.slice(0, start);
  const line = before.split('\n').length - 1;
  const column = start - (before.lastIndexOf('\n') + 1);
  // As node shows frames: a mapped one by path; otherwise an ES module by URL, CommonJS by path.
  const file = isCommonJsModule(place.moduleUrl) ? shownFile(place.scriptUrl) : place.scriptUrl;
  const prefix = DECLARATION_COLUMN + asDeclaration(expression).indexOf(text);
  const mappings = piecesMappings(place.scriptUrl, [{ line, column, text }]);
  return mappings === undefined ? { file, line, column, prefix } : { file, line, column, prefix, mappings };
}

/** A frame's position in the data module (line 2 is `export default <declaration>`), in the user's file. */
function placeFrame(placement: Placement, line: number, column: number): string {
  const line0 = placement.line + (line - 2);
  const column0 = line === 2 ? placement.column + (column - 1 - placement.prefix) : column - 1;
  return mapCompiled(placement.mappings, line0, column0) ?? `${placement.file}:${line0 + 1}:${column0 + 1}`;
}

// ---- worker side -------------------------------------------------------------------------------

const compiledMappings = new Map<string, PieceMappings>();
// Functions shipped alone that came with their placement (a `Process` target), by label.
const placements = new Map<string, Placement>();

/** In the worker: frames of the function compiled as `label` are placed where `placement` says. */
export function registerPlacement(label: string, placement: Placement): void {
  placements.set(label, placement);
}

/** In the worker: the mappings of code compiled under `filename` (with its mark). */
export function registerMappings(filename: string, mappings: PieceMappings): void {
  compiledMappings.set(filename, mappings);
}

/**
 * In the worker, before a stack leaves it: frames of functions shipped alone placed as `locateShippedFrames`
 * reads them (or in the user's file, when their placement came with them), and frames of code compiled
 * with its scope mapped through the source map sent with it (or just unmarked).
 */
export function cleanStack(stack: string): string {
  let clean = stack;
  if (clean.includes(SOURCE_URL)) {
    clean = clean.replace(SOURCE_FRAME, (_, label: string, line: string, column: string) => {
      const placement = placements.get(label);
      const moduleLine = Number(line) - SOURCE_LINES_BELOW;
      return placement === undefined ? `multiprocessing:${label}:${moduleLine}:${column}` : placeFrame(placement, moduleLine, Number(column));
    });
  }
  if (clean.includes(COMPILED_MARK)) {
    clean = clean.replace(COMPILED_FRAME, (_, file: string, line: string, column: string) => {
      const mapped = mapCompiled(compiledMappings.get(file + COMPILED_MARK), Number(line) - 1, Number(column) - 1);
      return mapped ?? `${file}:${line}:${column}`;
    });
  }
  return clean;
}

function mapCompiled(mappings: PieceMappings | undefined, line: number, column: number): string | undefined {
  if (mappings === undefined) return undefined;
  const segments = mappings.segments;
  // The last segment at or before the position, on its line.
  let found = -1;
  for (let i = 0; i < segments.length; i += 4) {
    if (segments[i] === line && segments[i + 1]! <= column) found = i;
    else if (segments[i]! > line) break;
  }
  if (found < 0) return undefined;
  return `${shownFile(mappings.source)}:${segments[found + 2]! + 1}:${segments[found + 3]! + 1}`;
}

/** A stack as a child prints it itself (a `Process` target's error): without origins, which only the parent resolves. */
export function printableStack(stack: string): string {
  return cleanStack(stack).replace(/(multiprocessing:[\w$.-]+)~\d+:/g, '$1:');
}

// ---- parent side -------------------------------------------------------------------------------

function shownFile(file: string): string {
  return file.startsWith('file:') ? fileURLToPath(file) : file;
}

/**
 * In the parent, when an error comes back: points the frames of functions shipped alone at the
 * user's file, line and column (through the source map when the program has one); a frame of a
 * function no longer known keeps its short form, without the origin.
 */
export function locateShippedFrames(stack: string): string {
  if (!stack.includes('multiprocessing:')) return stack;
  return stack.replace(ORIGIN_FRAME, (_, name: string, origin: string, line: string, column: string) => {
    let found: string | undefined;
    try {
      found = realPosition(Number(origin), Number(line), Number(column));
    } catch {
      found = undefined;
    }
    return found ?? `multiprocessing:${name}:${line}:${column}`;
  });
}

function realPosition(origin: number, line: number, column: number): string | undefined {
  const known = origins.get(origin);
  const fn = known?.fn.deref();
  if (known === undefined || fn === undefined) return undefined;
  const placement = placementOf(fn, known.expression);
  return placement === undefined ? undefined : placeFrame(placement, line, column);
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const decoded = new Map<string, { source: string; segments: number[] } | null>();

/** A source map's segments of its first source, decoded once per file (a few files at most). */
function decodedMap(file: string): { source: string; segments: number[] } | null {
  const cached = decoded.get(file);
  if (cached !== undefined) return cached;
  let result: { source: string; segments: number[] } | null = null;
  const map = findSourceMap(file);
  const payload = map?.payload as { mappings?: unknown; sources?: unknown[] } | undefined;
  if (map !== undefined && typeof payload?.mappings === 'string') {
    const segments = decodeMappings(payload.mappings);
    const first = segments.length > 0 ? (map.findEntry(segments[0]!, segments[1]!) as { originalSource?: string }) : {};
    if (first.originalSource !== undefined) result = { source: first.originalSource, segments };
  }
  if (decoded.size >= 8) decoded.delete(decoded.keys().next().value!);
  decoded.set(file, result);
  return result;
}

/** Source map v3 `mappings` → [line, column, original line, original column]… of source 0. */
function decodeMappings(mappings: string): number[] {
  const segments: number[] = [];
  let line = 0;
  let column = 0;
  let source = 0;
  let originalLine = 0;
  let originalColumn = 0;
  const fields: number[] = [];
  let i = 0;
  while (i < mappings.length) {
    const c = mappings[i]!;
    if (c === ';' || c === ',') {
      if (c === ';') {
        line += 1;
        column = 0;
      }
      i += 1;
      continue;
    }
    fields.length = 0;
    while (i < mappings.length && mappings[i] !== ',' && mappings[i] !== ';') {
      let value = 0;
      let shift = 0;
      let digit: number;
      do {
        digit = BASE64.indexOf(mappings[i++]!);
        value += (digit & 31) * 2 ** shift;
        shift += 5;
      } while (digit & 32);
      fields.push(value % 2 === 1 ? -(value - 1) / 2 : value / 2);
    }
    column += fields[0] ?? 0;
    if (fields.length >= 4) {
      source += fields[1]!;
      originalLine += fields[2]!;
      originalColumn += fields[3]!;
      if (source === 0) segments.push(line, column, originalLine, originalColumn);
    }
  }
  return segments;
}

/**
 * In the parent: the part of `file`'s source map (tsx's, say) that covers `pieces`, to send with them;
 * undefined when the program has no source map for the file (plain node: positions are already right).
 */
export function piecesMappings(file: string, pieces: readonly Pick<ScopePiece, 'line' | 'column' | 'text'>[]): PieceMappings | undefined {
  const map = decodedMap(file);
  if (map === null) return undefined;
  const ranges = pieces.map((piece) => {
    const lines = piece.text.split('\n');
    const endLine = piece.line + lines.length - 1;
    const endColumn = lines.length === 1 ? piece.column + piece.text.length : lines.at(-1)!.length;
    return [piece.line, piece.column, endLine, endColumn] as const;
  });
  const inside = (line: number, column: number): boolean =>
    ranges.some(([l0, c0, l1, c1]) => (line > l0 || (line === l0 && column >= c0)) && (line < l1 || (line === l1 && column <= c1)));
  const segments: number[] = [];
  for (let i = 0; i < map.segments.length; i += 4) {
    if (inside(map.segments[i]!, map.segments[i + 1]!)) segments.push(map.segments[i]!, map.segments[i + 1]!, map.segments[i + 2]!, map.segments[i + 3]!);
  }
  return segments.length === 0 ? undefined : { source: map.source, segments };
}
