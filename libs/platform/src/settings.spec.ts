import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { defineAppEnvironment } from './app-environment';
import { ConfigurationError } from './configuration-error';
import {
  IntegerVariable,
  MatchingVariable,
  OneOfVariable,
  PathVariable,
  PortVariable,
  TextVariable,
} from './env-variables';
import { redactUrl } from './redact-url';
import { readSettings } from './settings';
import { SettingsModule } from './settings.module';

class ExampleSettings {
  @IntegerVariable('EXAMPLE_COUNT', { min: 1 })
  readonly count: number = 4;

  @IntegerVariable('EXAMPLE_GRACE_MS', { min: 0 })
  readonly graceMs: number = 100;

  @PortVariable('EXAMPLE_PORT')
  readonly port: number = 3000;

  @OneOfVariable('EXAMPLE_MODE', ['keep', 'strip'])
  readonly mode: 'keep' | 'strip' = 'strip';

  @MatchingVariable('EXAMPLE_URL', /^amqps?:\/\//, {
    rule: 'start with amqp:// or amqps://',
    shownAs: redactUrl,
  })
  readonly url: string = 'amqp://localhost/';

  @MatchingVariable('EXAMPLE_HOST', /\S/, { rule: 'not be empty', emptyIsValue: true })
  readonly host: string = '127.0.0.1';

  @PathVariable('EXAMPLE_DIR')
  readonly dir: string = resolve('example');

  @TextVariable('EXAMPLE_NAME')
  readonly name: string | undefined = undefined;
}

const read = (env: Record<string, string | undefined>) => readSettings(ExampleSettings, env);

describe('settings read from the environment', () => {
  it('takes each default for an unset or empty variable, and nothing else from the environment', () => {
    const defaults = {
      count: 4,
      graceMs: 100,
      port: 3000,
      mode: 'strip',
      url: 'amqp://localhost/',
      host: '127.0.0.1',
      dir: resolve('example'),
      name: undefined,
    };
    assert.deepEqual(read({ PATH: '/bin', HOME: '/root' }), defaults);
    assert.deepEqual(
      read({ EXAMPLE_COUNT: '', EXAMPLE_PORT: '', EXAMPLE_MODE: '', EXAMPLE_DIR: '' }),
      defaults,
    );
    assert.deepEqual(read({ EXAMPLE_DIR: ' \t' }), defaults, 'a blank path is unset too');
  });

  it('refuses to go without a required path, empty or blank, naming what it must be', () => {
    class KeySettings {
      @PathVariable('EXAMPLE_KEY_FILE', { required: 'the path of the example.key file' })
      readonly keyFile!: string;
    }
    for (const value of [undefined, '', '  ']) {
      assert.throws(() => readSettings(KeySettings, { EXAMPLE_KEY_FILE: value }), {
        name: 'ConfigurationError',
        message: `EXAMPLE_KEY_FILE must be set to the path of the example.key file, got ${JSON.stringify(value ?? '')}`,
      });
    }
    assert.deepEqual(readSettings(KeySettings, { EXAMPLE_KEY_FILE: 'keys/example.key' }), {
      keyFile: resolve('keys/example.key'),
    });
  });

  it('parses every kind of value', () => {
    assert.deepEqual(
      read({
        EXAMPLE_COUNT: ' 7 ',
        EXAMPLE_GRACE_MS: '0',
        EXAMPLE_PORT: '65535',
        EXAMPLE_MODE: 'keep',
        EXAMPLE_URL: 'amqps://user:secret@broker:5671/vhost',
        EXAMPLE_HOST: '0.0.0.0',
        EXAMPLE_DIR: 'relative/dir',
        EXAMPLE_NAME: 'n-1',
      }),
      {
        count: 7,
        graceMs: 0,
        port: 65535,
        mode: 'keep',
        url: 'amqps://user:secret@broker:5671/vhost',
        host: '0.0.0.0',
        dir: resolve('relative/dir'),
        name: 'n-1',
      },
    );
  });

  const refused: [Record<string, string>, string][] = [
    [{ EXAMPLE_COUNT: 'x' }, 'EXAMPLE_COUNT must be an integer >= 1, got "x"'],
    [{ EXAMPLE_COUNT: '0' }, 'EXAMPLE_COUNT must be an integer >= 1, got "0"'],
    [{ EXAMPLE_COUNT: ' 0 ' }, 'EXAMPLE_COUNT must be an integer >= 1, got " 0 "'],
    [{ EXAMPLE_COUNT: '1.5' }, 'EXAMPLE_COUNT must be an integer >= 1, got "1.5"'],
    [{ EXAMPLE_COUNT: '1e3' }, 'EXAMPLE_COUNT must be an integer >= 1, got "1e3"'],
    [
      { EXAMPLE_COUNT: '99999999999999999999' },
      'EXAMPLE_COUNT must be an integer >= 1, got "99999999999999999999"',
    ],
    [{ EXAMPLE_GRACE_MS: '-1' }, 'EXAMPLE_GRACE_MS must be an integer >= 0, got "-1"'],
    [{ EXAMPLE_PORT: '0' }, 'EXAMPLE_PORT must be an integer from 1 to 65535, got "0"'],
    [{ EXAMPLE_PORT: '65536' }, 'EXAMPLE_PORT must be an integer from 1 to 65535, got "65536"'],
    [{ EXAMPLE_PORT: ' 80' }, 'EXAMPLE_PORT must be an integer from 1 to 65535, got " 80"'],
    [{ EXAMPLE_MODE: 'STRIP' }, 'EXAMPLE_MODE must be one of keep, strip, got "STRIP"'],
    [{ EXAMPLE_HOST: '' }, 'EXAMPLE_HOST must not be empty, got ""'],
    [{ EXAMPLE_HOST: '  ' }, 'EXAMPLE_HOST must not be empty, got "  "'],
    [
      { EXAMPLE_URL: 'http://user:secret@broker/' },
      'EXAMPLE_URL must start with amqp:// or amqps://, got "http://user:***@broker/"',
    ],
  ];
  for (const [env, message] of refused) {
    it(`refuses ${JSON.stringify(env)}: ${message}`, () => {
      assert.throws(() => read(env), { name: 'ConfigurationError', message });
    });
  }

  it('names every refused variable at once', () => {
    assert.throws(() => read({ EXAMPLE_COUNT: 'x', EXAMPLE_MODE: 'loud' }), {
      message:
        'EXAMPLE_COUNT must be an integer >= 1, got "x"; ' +
        'EXAMPLE_MODE must be one of keep, strip, got "loud"',
    });
  });
});

class OtherSettings {
  @IntegerVariable('OTHER_SIZE', { min: 1 })
  readonly size: number = 2;
}

const exampleEnvironment = defineAppEnvironment({
  app: 'relay',
  sections: { example: ExampleSettings, other: OtherSettings },
  forbidden: [{ prefix: 'SECRET_', reason: 'this app never holds secrets' }],
});

describe('an app environment', () => {
  it('lists every variable of its sections', () => {
    assert.deepEqual(exampleEnvironment.variables, [
      'EXAMPLE_COUNT',
      'EXAMPLE_GRACE_MS',
      'EXAMPLE_PORT',
      'EXAMPLE_MODE',
      'EXAMPLE_URL',
      'EXAMPLE_HOST',
      'EXAMPLE_DIR',
      'EXAMPLE_NAME',
      'OTHER_SIZE',
    ]);
  });

  it('gives each section its settings', () => {
    const settings = exampleEnvironment.validate({ OTHER_SIZE: '3' });
    assert.equal(settings.example.count, 4);
    assert.deepEqual(settings.other, { size: 3 });
  });

  it('names the refused variables of every section at once', () => {
    assert.throws(() => exampleEnvironment.validate({ EXAMPLE_COUNT: '0', OTHER_SIZE: 'big' }), {
      name: 'ConfigurationError',
      message:
        'EXAMPLE_COUNT must be an integer >= 1, got "0"; ' +
        'OTHER_SIZE must be an integer >= 1, got "big"',
    });
  });

  it('refuses to start with a forbidden variable set, saying why', () => {
    assert.throws(() => exampleEnvironment.validate({ SECRET_KEY: 'k', EXAMPLE_COUNT: '0' }), {
      message:
        'SECRET_KEY is set, but this app never holds secrets: ' +
        "remove every SECRET_* variable from the relay's environment",
    });
    assert.throws(() => exampleEnvironment.validate({ SECRET_B: 'b', SECRET_A: 'a' }), {
      message: /^SECRET_A, SECRET_B are set, but this app never holds secrets/,
    });
    // an empty value is unset, as for every other variable
    assert.doesNotThrow(() => exampleEnvironment.validate({ SECRET_KEY: '' }));
  });

  it('refuses two sections that read the same variable', () => {
    class Again {
      @IntegerVariable('OTHER_SIZE', { min: 0 })
      readonly size: number = 0;
    }
    assert.throws(
      () => defineAppEnvironment({ app: 'api', sections: { other: OtherSettings, again: Again } }),
      { message: 'api: OTHER_SIZE read by two sections' },
    );
  });
});

@Injectable()
class NeedsSettings {
  constructor(
    readonly example: ExampleSettings,
    readonly other: OtherSettings,
  ) {}
}

@Module({ providers: [NeedsSettings] })
class ExampleModule {}

describe('SettingsModule', () => {
  async function compile(env: Record<string, string>) {
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      const settings = await SettingsModule.forRoot(exampleEnvironment);
      return await Test.createTestingModule({ imports: [settings, ExampleModule] }).compile();
    } finally {
      for (const name of Object.keys(env)) {
        if (saved[name] === undefined) delete process.env[name];
        else process.env[name] = saved[name];
      }
    }
  }

  it('injects each section, read from the environment once, under its class', async () => {
    const moduleRef = await compile({ EXAMPLE_COUNT: '9', OTHER_SIZE: '5' });
    try {
      const needs = moduleRef.get(NeedsSettings);
      assert.equal(needs.example.count, 9);
      assert.deepEqual(needs.other, { size: 5 });
      assert.equal(moduleRef.get(OtherSettings), needs.other);
      // @nestjs/config copies no setting back into the environment
      assert.equal(process.env.example, undefined);
      assert.equal(process.env.other, undefined);
    } finally {
      await moduleRef.close();
    }
  });

  it('refuses the environment with the same error as validate()', async () => {
    await assert.rejects(compile({ EXAMPLE_COUNT: 'many' }), (error: unknown) => {
      assert.ok(error instanceof ConfigurationError);
      assert.equal(error.message, 'EXAMPLE_COUNT must be an integer >= 1, got "many"');
      return true;
    });
    await assert.rejects(compile({ SECRET_TOKEN: 't' }), {
      name: 'ConfigurationError',
      message: /^SECRET_TOKEN is set, but this app never holds secrets/,
    });
  });
});
