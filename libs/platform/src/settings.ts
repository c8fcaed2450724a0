import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { ConfigurationError } from './configuration-error';
import { variablesOf } from './env-variables';

export type Environment = Record<string, string | undefined>;

/** A class whose properties are declared with the decorators of env-variables.ts. */
export type SettingsClass<T extends object = object> = new () => T;

export interface SettingsCheck<T> {
  /** The settings, as a plain object (meaningful only when there are no problems). */
  value: T;
  /** One sentence per refused variable: `<NAME> must <rule>, got "<value>"`. */
  problems: string[];
}

/** Reads a settings class from the environment: defaults, parsing and every rule. */
export function checkSettings<T extends object>(
  settings: SettingsClass<T>,
  env: Environment,
): SettingsCheck<T> {
  const instance = plainToInstance(settings, env, {
    excludeExtraneousValues: true,
    exposeUnsetFields: false,
  });
  const variables = variablesOf(settings);
  const problems = validateSync(instance, {
    stopAtFirstError: true,
    forbidUnknownValues: false,
  }).map((error) => {
    const variable = variables.find((candidate) => candidate.property === error.property);
    const rule = Object.values(error.constraints ?? {})[0] ?? 'be valid';
    if (!variable) return `${error.property} must ${rule}`;
    const raw = env[variable.name] ?? '';
    return `${variable.name} must ${rule}, got ${JSON.stringify(variable.shownAs(raw))}`;
  });
  return { value: { ...instance }, problems };
}

/** The settings, or a ConfigurationError naming every refused variable. */
export function readSettings<T extends object>(settings: SettingsClass<T>, env: Environment): T {
  const { value, problems } = checkSettings(settings, env);
  if (problems.length > 0) throw new ConfigurationError(problems.join('; '));
  return value;
}
