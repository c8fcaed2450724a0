import { Module, type DynamicModule, type FactoryProvider } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import type { ComposedEnvironment, SettingsSections } from './app-environment';

/**
 * The app's settings, checked once by @nestjs/config when the app is built (its `validate`
 * is the environment's own), then provided globally, each section under its class: inject
 * `RelaySettings`, `AmqpSettings`, … as plain objects.
 */
@Module({})
export class SettingsModule {
  /** Throws ConfigurationError when the environment is refused. */
  static async forRoot<S extends SettingsSections>(
    environment: ComposedEnvironment<S>,
  ): Promise<DynamicModule> {
    const config = await ConfigModule.forRoot({
      ignoreEnvFile: true,
      validate: (env) => environment.validate(env),
    });
    const sections = Object.entries(environment.sections);
    const providers = sections.map(([key, section]): FactoryProvider => ({
      provide: section,
      inject: [ConfigService],
      useFactory: (settings: ConfigService) => settings.getOrThrow<object>(key),
    }));
    return {
      module: SettingsModule,
      global: true,
      imports: [config],
      providers,
      exports: sections.map(([, section]) => section),
    };
  }
}
