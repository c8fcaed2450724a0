import {
  DynamicModule,
  Global,
  Injectable,
  InjectionToken,
  Logger,
  Module,
  OnApplicationShutdown,
  OnModuleInit,
} from '@nestjs/common';
import {
  AmqpConnection,
  MessageHandlerErrorBehavior,
  RabbitMQModule,
} from '@golevelup/nestjs-rabbitmq';
import type { ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel } from 'amqplib';
import type { Topology } from '@app/contracts';
import { redactUrl } from '@app/platform';
import { AmqpSettings } from './amqp.settings';
import { QueueConsumer, type ConsumerOptions } from './queue-consumer';
import { checkTopology, declareTopology, type ChannelSource } from './topology';
import { ConfirmedPublisher, type SenderIdentity } from './confirmed-publisher';

/** What an app expects of the broker, and how it names itself on what it sends. */
export interface AmqpAppOptions {
  /** Checked (never declared) at start: `aegir broker:setup` declares it. */
  expects?: Topology;
  /** AMQP `app_id` on every message it publishes (a dispatcher's DISPATCHER_ID). */
  appId?: string;
}

/** The app's AmqpAppOptions, made from what `inject` names (e.g. its settings). */
export interface AmqpAppFactory {
  inject?: InjectionToken[];
  useFactory: (...deps: never[]) => AmqpAppOptions;
}

/** The user an AMQP URL connects as (amqplib's default is guest). */
export function userOfUrl(url: string): string {
  return decodeURIComponent(new URL(url).username) || 'guest';
}

/** The one place apps get channels, publishers and consumers from. */
@Injectable()
export class AmqpChannels implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(AmqpChannels.name);
  private readonly channels: ChannelWrapper[] = [];
  private publisher?: ConfirmedPublisher;
  private readonly deadLetterListeners: ((queue: string) => void)[] = [];

  constructor(
    private readonly connection: AmqpConnection,
    private readonly settings: AmqpSettings,
    private readonly options: AmqpAppOptions = {},
  ) {}

  /** The app's topology is in place before any provider starts consuming or publishing. */
  async onModuleInit(): Promise<void> {
    const { expects } = this.options;
    if (!expects) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      const ms = this.settings.connectTimeoutMs;
      timer = setTimeout(() => reject(new Error(`the broker did not answer within ${ms} ms`)), ms);
    });
    try {
      // amqp-connection-manager hands golevelup amqplib's ChannelModel, typed as its Connection
      const model = this.connection.connection as unknown as ChannelSource;
      await Promise.race([checkTopology(model, expects), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Every message this app publishes says who sent it (the broker checks the user). */
  get sender(): SenderIdentity {
    return { userId: userOfUrl(this.settings.url), appId: this.options.appId };
  }

  createChannel(name: string, setup: (channel: ConfirmChannel) => Promise<void>): ChannelWrapper {
    const wrapper = this.connection.managedConnection.createChannel({
      name,
      confirm: true,
      json: false,
      setup: (channel: ConfirmChannel) => setup(channel),
    });
    wrapper.on('error', (error: Error) => this.logger.warn(`channel ${name}: ${error.message}`));
    this.channels.push(wrapper);
    return wrapper;
  }

  /** Asserts the topology now and again after every reconnect (for a user that may configure it). */
  async declare(topology: Topology): Promise<void> {
    const wrapper = this.createChannel('topology', (channel) => declareTopology(channel, topology));
    await wrapper.waitForConnect();
  }

  /** Shared by everything in the app that publishes: one confirm channel. */
  confirmedPublisher(): ConfirmedPublisher {
    this.publisher ??= new ConfirmedPublisher(
      (setup) => this.createChannel('publisher', setup),
      this.settings.publishTimeoutMs,
      this.sender,
    );
    return this.publisher;
  }

  consumer<T>(options: ConsumerOptions<T>): QueueConsumer<T> {
    return new QueueConsumer<T>(
      (setup) => this.createChannel(`consumer:${options.queue}`, setup),
      this.confirmedPublisher(),
      options,
      (queue) => this.deadLetterListeners.forEach((listener) => listener(queue)),
    );
  }

  /** `listener` hears the queue of every message a consumer of this app dead-letters. */
  onDeadLetter(listener: (queue: string) => void): void {
    this.deadLetterListeners.push(listener);
  }

  get connected(): boolean {
    return this.connection.connected;
  }

  /** After every consumer drained (beforeApplicationShutdown), before the connection closes. */
  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled(this.channels.map((channel) => channel.close()));
  }
}

@Global()
@Module({})
export class AmqpModule {
  /**
   * golevelup owns the connection (reconnects, start-up wait); handlers are never
   * discovered, and a failing one would be nacked to the dead-letter exchange. The broker
   * comes from the app's AmqpSettings.
   */
  static forRoot(appName: string, app?: AmqpAppFactory): DynamicModule {
    return {
      module: AmqpModule,
      imports: [
        RabbitMQModule.forRootAsync({
          inject: [AmqpSettings],
          useFactory: (settings: AmqpSettings) => {
            return {
              name: appName,
              uri: settings.url,
              registerHandlers: false,
              enableControllerDiscovery: false,
              enableDirectReplyTo: false,
              defaultSubscribeErrorBehavior: MessageHandlerErrorBehavior.NACK,
              connectionInitOptions: {
                wait: true,
                timeout: settings.connectTimeoutMs,
                reject: true,
              },
              connectionManagerOptions: {
                heartbeatIntervalInSeconds: 10,
                reconnectTimeInSeconds: 1,
                connectionOptions: {
                  clientProperties: { connection_name: appName },
                  // No Nagle: with it, a quorum queue's delivery waited ~40 ms (measured)
                  // for the TCP delayed ack, on every hop of a dispatch and its claim.
                  noDelay: true,
                },
              },
            };
          },
        }),
      ],
      providers: [
        {
          provide: AmqpChannels,
          inject: [AmqpConnection, AmqpSettings, ...(app?.inject ?? [])],
          useFactory: (connection: AmqpConnection, settings: AmqpSettings, ...deps: unknown[]) => {
            new Logger(AmqpModule.name).log(`broker ${redactUrl(settings.url)}`);
            const makeOptions = app?.useFactory as
              ((...deps: unknown[]) => AmqpAppOptions) | undefined;
            return new AmqpChannels(connection, settings, makeOptions?.(...deps));
          },
        },
      ],
      exports: [AmqpChannels],
    };
  }
}
