import { ConfigurationError } from './configuration-error';
import { variablesOf } from './env-variables';
import { checkSettings, type Environment, type SettingsClass } from './settings';

/** What an app reads from its environment, and the one check start-up runs on it. */
export interface AppEnvironment<T> {
  readonly app: 'api' | 'relay' | 'dispatcher' | 'console';
  /** Every variable the app reads. */
  readonly variables: readonly string[];
  /** Checks an environment; throws ConfigurationError naming the variable and what it must be. */
  validate(env: Record<string, string | undefined>): T;
}

/** An app's settings classes by name, e.g. `{ database: DatabaseSettings, relay: RelaySettings }`. */
export type SettingsSections = Record<string, SettingsClass>;

export type SettingsOf<S extends SettingsSections> = {
  readonly [K in keyof S]: InstanceType<S[K]>;
};

/** Credentials an app must never hold: any such variable set stops its start-up. */
export interface ForbiddenVariables {
  readonly prefix: string;
  /** Why, as the rest of "…is set, but <reason>". */
  readonly reason: string;
}

/** An app environment made of the settings classes its libs and the app itself define. */
export class ComposedEnvironment<S extends SettingsSections> implements AppEnvironment<
  SettingsOf<S>
> {
  readonly variables: readonly string[];

  constructor(
    readonly app: AppEnvironment<unknown>['app'],
    readonly sections: S,
    private readonly forbidden: readonly ForbiddenVariables[] = [],
  ) {
    const variables = Object.values(sections).flatMap((section) =>
      variablesOf(section).map((variable) => variable.name),
    );
    const twice = variables.filter((name, index) => variables.indexOf(name) !== index);
    if (twice.length > 0) throw new Error(`${app}: ${twice.join(', ')} read by two sections`);
    this.variables = variables;
  }

  validate(env: Environment): SettingsOf<S> {
    for (const { prefix, reason } of this.forbidden) {
      const set = Object.keys(env)
        .filter((name) => name.startsWith(prefix) && env[name])
        .sort();
      if (set.length > 0) {
        throw new ConfigurationError(
          `${set.join(', ')} ${set.length === 1 ? 'is' : 'are'} set, but ${reason}: ` +
            `remove every ${prefix}* variable from the ${this.app}'s environment`,
        );
      }
    }
    const settings: Record<string, object> = {};
    const problems: string[] = [];
    for (const [key, section] of Object.entries(this.sections)) {
      const check = checkSettings(section, env);
      settings[key] = check.value;
      problems.push(...check.problems);
    }
    if (problems.length > 0) throw new ConfigurationError(problems.join('; '));
    return settings as SettingsOf<S>;
  }
}

export function defineAppEnvironment<S extends SettingsSections>(definition: {
  app: AppEnvironment<unknown>['app'];
  sections: S;
  forbidden?: readonly ForbiddenVariables[];
}): ComposedEnvironment<S> {
  return new ComposedEnvironment(definition.app, definition.sections, definition.forbidden);
}
