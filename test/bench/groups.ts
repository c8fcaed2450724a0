import type { Stack } from '../support/stack';
import { benchItself, childrenTime, ownTime, pidsNamed, type CpuGroup } from './cpu';

/**
 * The processes whose CPU time the bench reports. PostgreSQL and RabbitMQ serve the whole
 * machine: only this database's backends are ours for sure; the broker is one process.
 */
export function groupsOf(stack: Stack): CpuGroup[] {
  const app = (name: 'relay' | 'dispatcher' | 'api') => () => [stack.app(name).pid];
  const ourBackend = (cmdline: string): boolean => cmdline.includes(` ${stack.db.name} `);
  return [
    { name: 'relay', read: ownTime(app('relay')) },
    { name: 'dispatcher', read: ownTime(app('dispatcher')) },
    {
      name: 'task processes',
      read: childrenTime(() => stack.app('dispatcher').pid),
    },
    { name: 'api', read: ownTime(app('api')) },
    {
      name: 'PostgreSQL, our backends',
      read: ownTime(pidsNamed('postgres', ourBackend)),
    },
    {
      name: 'PostgreSQL, the rest',
      read: ownTime(pidsNamed('postgres', (cmdline) => !ourBackend(cmdline))),
    },
    {
      name: 'RabbitMQ',
      read: ownTime(pidsNamed('beam.smp', (cmdline) => cmdline.includes('rabbit boot'))),
    },
    benchItself,
  ];
}
