import { connect } from 'amqplib';
import { declareTopology } from '@app/amqp';
import { redactUrl } from '@app/platform';
import { brokerTopology, type Topology } from '@app/contracts';

/** Declares the whole topology for these pools on the broker at `url`. */
export async function setUpBroker(url: string, pools: string[]): Promise<Topology> {
  const topology = brokerTopology(pools);
  let connection;
  try {
    connection = await connect(url, { clientProperties: { connection_name: 'aegir-console' } });
  } catch (error) {
    throw new Error(`cannot reach RabbitMQ at ${redactUrl(url)}: ${(error as Error).message}`);
  }
  try {
    const channel = await connection.createChannel();
    await declareTopology(channel, topology);
    await channel.close();
  } finally {
    await connection.close();
  }
  return topology;
}
