import { Expose, Transform } from 'class-transformer';
import { IsDefined, IsIn, IsInt, Matches, Max, Min } from 'class-validator';
import { resolve } from 'node:path';

/**
 * Decorators that make a settings class its own schema: each property names the
 * environment variable it is read from, how the text is parsed (class-transformer) and the
 * rule it must meet (class-validator). The property's initializer is its default. An
 * empty value counts as unset unless `emptyIsValue` says otherwise.
 */

export interface VariableOptions {
  /** Check an empty value against the rule instead of taking the default. */
  emptyIsValue?: boolean;
  /** How a refused value is shown in the message (a URL's password is hidden). */
  shownAs?: (raw: string) => string;
}

/** A property of a settings class and the variable it comes from. */
export interface SettingsVariable {
  readonly property: string;
  readonly name: string;
  readonly shownAs: (raw: string) => string;
}

const variablesBySettings = new Map<object, SettingsVariable[]>();

/** The variables a settings class reads, in the order they are declared. */
export function variablesOf(settings: abstract new () => object): readonly SettingsVariable[] {
  return variablesBySettings.get(settings) ?? [];
}

function variable(
  name: string,
  options: VariableOptions,
  parse: (raw: string) => unknown,
  rules: PropertyDecorator[],
): PropertyDecorator {
  return (target, property) => {
    const settings = target.constructor;
    const shownAs = options.shownAs ?? ((raw: string) => raw);
    variablesBySettings.set(settings, [
      ...(variablesBySettings.get(settings) ?? []),
      { property: String(property), name, shownAs },
    ]);
    Expose({ name })(target, property);
    Transform(
      ({ value }: { value: unknown }) => {
        if (typeof value !== 'string') return value;
        return value === '' && !options.emptyIsValue ? undefined : parse(value);
      },
      { toClassOnly: true },
    )(target, property);
    for (const rule of rules) rule(target, property);
  };
}

const asText = (raw: string): string => raw;

const INTEGER = /^\s*-?\d+\s*$/;

/**
 * An integer of at least `min` (and at most `max`, when given):
 * `RELAY_EVENTS_LANES must be an integer >= 1, got "x"`.
 */
export function IntegerVariable(
  name: string,
  { min, max }: { min: number; max?: number },
): PropertyDecorator {
  const rule = {
    message: max === undefined ? `be an integer >= ${min}` : `be an integer from ${min} to ${max}`,
  };
  return variable(
    name,
    {},
    (raw) => (INTEGER.test(raw) && Number.isSafeInteger(Number(raw)) ? Number(raw) : raw),
    max === undefined
      ? [IsInt(rule), Min(min, rule)]
      : [IsInt(rule), Min(min, rule), Max(max, rule)],
  );
}

/** A TCP port: digits only, 1 to 65535. */
export function PortVariable(name: string): PropertyDecorator {
  const rule = { message: 'be an integer from 1 to 65535' };
  return variable(name, {}, (raw) => (/^\d+$/.test(raw) ? Number(raw) : raw), [
    IsInt(rule),
    Min(1, rule),
    Max(65535, rule),
  ]);
}

/** One of a fixed list of words, compared exactly. */
export function OneOfVariable(name: string, values: readonly string[]): PropertyDecorator {
  return variable(name, {}, asText, [
    IsIn([...values], { message: `be one of ${values.join(', ')}` }),
  ]);
}

/** Text that matches `pattern`; `rule` says what that means (default: `match /…/`). */
export function MatchingVariable(
  name: string,
  pattern: RegExp,
  options: VariableOptions & { rule?: string } = {},
): PropertyDecorator {
  return variable(name, options, asText, [
    Matches(pattern, { message: options.rule ?? `match ${String(pattern)}` }),
  ]);
}

/** Any text: what it names is checked where it is used (a database URL by connecting). */
export function TextVariable(name: string): PropertyDecorator {
  return variable(name, {}, asText, []);
}

/**
 * A path, made absolute against the working directory; a value of white space alone is
 * unset, as an empty one is (it would name a file called " "). `required` (what the path
 * is, e.g. "the path of the relay's signing key") makes it a variable without a default.
 */
export function PathVariable(name: string, options: { required?: string } = {}): PropertyDecorator {
  const rules = options.required ? [IsDefined({ message: `be set to ${options.required}` })] : [];
  return variable(name, {}, (raw) => (raw.trim() === '' ? undefined : resolve(raw)), rules);
}
