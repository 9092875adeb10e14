import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node, type Pair } from 'yaml';
import type { PathSegment } from './problems.ts';

/** A parsed YAML file that can say where each value was written. */
export interface YamlSource {
  document: Document.Parsed;
  lines: LineCounter;
}

export interface Position {
  line: number;
  col: number;
}

export interface Located extends Position {
  /** False when the path ends at a key that is not written: the position is its parent's. */
  found: boolean;
}

export interface YamlMessage extends Position {
  path: PathSegment[];
  message: string;
  severity: 'error' | 'warning';
}

export function readYaml(text: string): YamlSource {
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  return { document, lines };
}

/** Syntax errors, duplicate keys and YAML warnings, each with its position and field path. */
export function yamlMessages(source: YamlSource): YamlMessage[] {
  const errors = source.document.errors.map((error) => ({ error, severity: 'error' as const }));
  const warnings = source.document.warnings.map((error) => ({ error, severity: 'warning' as const }));
  return [...errors, ...warnings].map(({ error, severity }) => {
    const offset = error.pos[0];
    const message = error.code === 'DUPLICATE_KEY' ? 'duplicate key: each key appears once in a mapping' : lowerFirst(error.message);
    return { ...source.lines.linePos(offset), path: pathAtOffset(source, offset), message, severity };
  });
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

function positionOf(source: YamlSource, node: Node | Pair | null | undefined): Position {
  const offset = node && 'range' in node && node.range ? node.range[0] : 0;
  return source.lines.linePos(offset);
}

function resolved(source: YamlSource, node: unknown): Node | null {
  if (isAlias(node)) return node.resolve(source.document) ?? null;
  return isMap(node) || isSeq(node) || isScalar(node) ? node : null;
}

function childOf(source: YamlSource, parent: unknown, segment: PathSegment): Node | Pair | undefined {
  const collection = resolved(source, parent);
  if (isSeq(collection) && typeof segment === 'number') {
    const item = collection.items[segment];
    return isMap(item) || isSeq(item) || isScalar(item) || isAlias(item) ? item : undefined;
  }
  if (!isMap(collection)) return undefined;
  return collection.items.find((pair) => isScalar(pair.key) && String(pair.key.value) === String(segment));
}

/** An empty value (`pause:` with nothing after it) has no place of its own: use its key's. */
function isEmptyValue(node: unknown): boolean {
  return node === null || (isScalar(node) && node.value === null && (node.range?.[0] ?? 0) === (node.range?.[1] ?? 0));
}

/**
 * Where the value at `path` is written. With `atKey`, the position of the last key itself
 * (for unknown and badly named keys). A path that leaves the file points at the deepest
 * mapping or list that exists, so a missing key points at the mapping that should hold it.
 */
export function locate(source: YamlSource, path: readonly PathSegment[], options: { atKey?: boolean } = {}): Located {
  let current: Node | null = resolved(source, source.document.contents);
  let holder: Node | null = current;
  for (const [index, segment] of path.entries()) {
    const child = childOf(source, current, segment);
    if (child === undefined) return { ...positionOf(source, current ?? holder), found: false };
    const key = isPair(child) && isScalar(child.key) ? child.key : null;
    const value = isPair(child) ? child.value : child;
    if (index === path.length - 1 && key && (options.atKey || isEmptyValue(value))) {
      return { ...positionOf(source, key), found: true };
    }
    holder = key ?? holder;
    current = resolved(source, value);
  }
  return { ...positionOf(source, current ?? holder), found: true };
}

/** The field path of the deepest key or item whose text holds `offset` (for YAML errors). */
export function pathAtOffset(source: YamlSource, offset: number): PathSegment[] {
  const path: PathSegment[] = [];
  let current: unknown = source.document.contents;
  for (;;) {
    if (isMap(current)) {
      const pair = current.items.find((item) => spans(item.key, offset) || spans(item.value, offset));
      if (!pair || !isScalar(pair.key)) return path;
      path.push(String(pair.key.value));
      if (spans(pair.key, offset)) return path;
      current = pair.value;
    } else if (isSeq(current)) {
      const index = current.items.findIndex((item) => spans(item, offset));
      if (index < 0) return path;
      path.push(index);
      current = current.items[index];
    } else {
      return path;
    }
  }
}

function spans(node: unknown, offset: number): boolean {
  if (!(isMap(node) || isSeq(node) || isScalar(node) || isAlias(node)) || !node.range) return false;
  return node.range[0] <= offset && offset <= node.range[2];
}
