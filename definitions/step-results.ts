/** Reading a step's result (an activity's plain JSON) field by field, without trusting its shape. */

export function resultField(result: unknown, name: string): unknown {
  return result !== null && typeof result === 'object' ? (result as Record<string, unknown>)[name] : undefined;
}

export function resultText(result: unknown, name: string): string | undefined {
  const value = resultField(result, name);
  return typeof value === 'string' ? value : undefined;
}

export function resultNumber(result: unknown, name: string): number | undefined {
  const value = resultField(result, name);
  return typeof value === 'number' ? value : undefined;
}
