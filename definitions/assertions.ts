/**
 * Step assertions: `lagSeconds <= 30`, `status == "ok"`, `rows.0.count > 0`.
 * The left side is a dotted path into the step's result; the right side a JSON literal.
 * Pure code: the workflow evaluates assertions deterministically.
 */
const OPERATORS = ['==', '!=', '<=', '>=', '<', '>'] as const;
type Operator = (typeof OPERATORS)[number];
type Literal = string | number | boolean | null;

export interface Assertion {
  text: string;
  path: string[];
  operator: Operator;
  expected: Literal;
}

const SHAPE = /^\s*([A-Za-z_][\w-]*(?:\.[\w-]+)*)\s*(==|!=|<=|>=|<|>)\s*(.+?)\s*$/;

/** Parses one assertion; throws an Error whose message says what is wrong. */
export function parseAssertion(text: string): Assertion {
  const match = SHAPE.exec(text);
  if (!match) throw new Error(`"${text}" is not PATH OP VALUE (OP one of ${OPERATORS.join(' ')})`);
  const [, path = '', operator = '==', literal = ''] = match;
  let expected: unknown;
  try {
    expected = JSON.parse(literal.startsWith("'") && literal.endsWith("'") ? `"${literal.slice(1, -1)}"` : literal);
  } catch {
    throw new Error(`"${literal}" in "${text}" is not a number, "string", true, false or null`);
  }
  if (typeof expected === 'object' && expected !== null) throw new Error(`"${literal}" in "${text}" must be a single value`);
  const op = operator as Operator;
  if (['<', '<=', '>', '>='].includes(op) && typeof expected !== 'number') {
    throw new Error(`"${text}": ${op} compares numbers, got ${literal}`);
  }
  return { text: text.trim(), path: path.split('.'), operator: op, expected: expected as Literal };
}

/** The value at a dotted path (`rows.0.count`) in a step result; undefined where the path leads nowhere. */
export function valueAt(value: unknown, path: readonly string[]): unknown {
  let current: unknown = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

function holds(actual: unknown, operator: Operator, expected: Literal): boolean {
  switch (operator) {
    case '==': return actual === expected;
    case '!=': return actual !== expected;
    case '<': return typeof actual === 'number' && actual < (expected as number);
    case '<=': return typeof actual === 'number' && actual <= (expected as number);
    case '>': return typeof actual === 'number' && actual > (expected as number);
    case '>=': return typeof actual === 'number' && actual >= (expected as number);
  }
}

/** Evaluates each assertion against a step result; returns one message per failed assertion. */
export function failedAssertions(texts: readonly string[], result: unknown): string[] {
  return texts.flatMap((text) => {
    const assertion = parseAssertion(text);
    const actual = valueAt(result, assertion.path);
    return holds(actual, assertion.operator, assertion.expected)
      ? []
      : [`assert ${assertion.text} failed: ${assertion.path.join('.')} is ${JSON.stringify(actual) ?? 'missing'}`];
  });
}
