import { connect } from 'amqplib';

/** Resolves once RabbitMQ at `url` accepts a connection (the vhost and credentials included). */
export async function pingBroker(url: string, timeoutMs = 3000): Promise<void> {
  const connection = await connect(url, {
    timeout: timeoutMs,
    clientProperties: { connection_name: 'aegir-health' },
  });
  await connection.close();
}
