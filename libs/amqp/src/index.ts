export * from './amqp.config';
export * from './amqp.module';
export * from './confirmed-publisher';
export * from './queue-consumer';
export * from './topology';
