import { type FactoryFunctionMap, all, create } from 'mathjs';

/** Longest expression the calculator accepts. */
const MAX_EXPRESSION_LENGTH = 200;

// A private mathjs instance. `evaluate` is captured before the functions that could reach outside the
// sandbox (import, createUnit, parse/evaluate from inside an expression, ...) are replaced by stubs that
// throw, as the mathjs security notes recommend. No JavaScript `eval` is ever involved.
const math = create(all as FactoryFunctionMap, {});
const limitedEvaluate = math.evaluate.bind(math);
const disabled = (name: string) => () => {
  throw new Error(`function ${name} is disabled`);
};
math.import(
  Object.fromEntries(
    ['import', 'createUnit', 'evaluate', 'parse', 'simplify', 'derivative', 'resolve', 'compile'].map((n) => [
      n,
      disabled(n),
    ]),
  ),
  { override: true },
);

/** What the calculator tool returns. */
export interface CalculatorResult {
  expression: string;
  /** The value formatted with at most 12 significant digits (e.g. `"42"`, `"0.333333333333"`). */
  value: string;
}

/**
 * Evaluates an arithmetic expression with a sandboxed mathjs parser. Throws an `Error` with a readable
 * message for an invalid, oversized or non-numeric expression.
 */
export function calculate(expression: string): CalculatorResult {
  const expr = expression.trim();
  if (expr.length === 0) throw new Error('empty expression');
  if (expr.length > MAX_EXPRESSION_LENGTH)
    throw new Error(`expression longer than ${MAX_EXPRESSION_LENGTH} characters`);
  const result: unknown = limitedEvaluate(expr);
  if (typeof result !== 'number' && !math.isBigNumber(result) && !math.isFraction(result)) {
    throw new Error('the expression does not evaluate to a number');
  }
  const value = math.format(result, { precision: 12 });
  if (value === 'NaN') throw new Error('the expression is not a number');
  return { expression: expr, value };
}
