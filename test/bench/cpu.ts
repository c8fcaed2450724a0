import { availableParallelism } from 'node:os';
import { CLOCK_TICKS, processesNamed, readMachineTicks, readTimes } from './proc';

/** CPU time of one group of processes over a phase, and its share of wall time × cores. */
export interface CpuShare {
  seconds: number;
  share: number;
}

/** Where the CPU went during a phase, process by process (the profile the issue asks for). */
export interface CpuProfile {
  wallSeconds: number;
  cores: number;
  /** Every process on the machine, from /proc/stat. */
  machineBusy: CpuShare;
  /** By group, in the order printed; `rest of the machine` is machine busy minus the others. */
  groups: { name: string; cpu: CpuShare }[];
}

/** A group of processes and how to find them; CPU times are summed over its pids. */
export interface CpuGroup {
  name: string;
  /** Seconds of CPU each process (or pseudo-process) has used so far, keyed by pid. */
  read(): Map<number, number>;
}

const ticksToSeconds = (ticks: number): number => ticks / CLOCK_TICKS;

/** utime + stime of the given pids, in seconds. */
export function ownTime(pids: () => number[]): () => Map<number, number> {
  return () => {
    const used = new Map<number, number>();
    for (const pid of pids()) {
      const times = readTimes(pid);
      if (times) used.set(pid, ticksToSeconds(times.utime + times.stime));
    }
    return used;
  };
}

/** The reaped children's time of a parent: its task processes, once they have ended. */
export function childrenTime(pid: () => number): () => Map<number, number> {
  return () => {
    const times = readTimes(pid());
    return new Map(times ? [[0, ticksToSeconds(times.childrenUtime + times.childrenStime)]] : []);
  };
}

/** Processes named `name` whose argv (joined by spaces) passes `keep`. */
export function pidsNamed(name: string, keep: (cmdline: string) => boolean): () => number[] {
  return () =>
    processesNamed(name)
      .filter((found) => keep(found.cmdline))
      .map((found) => found.pid);
}

/** The bench's own process, from process.cpuUsage (µs). */
export const benchItself: CpuGroup = {
  name: 'bench itself',
  read: () => {
    const { user, system } = process.cpuUsage();
    return new Map([[process.pid, (user + system) / 1e6]]);
  },
};

/**
 * Sums CPU time per group between start and stop. A process that appears during the phase
 * counts from zero; one that ends during it is lost (except task processes, which the
 * dispatcher reaps, so they show in its children's time).
 */
export function watchCpu(groups: CpuGroup[]): { stop(): CpuProfile } {
  const cores = availableParallelism();
  const started = process.hrtime.bigint();
  const machineBefore = readMachineTicks();
  const before = groups.map((group) => group.read());
  return {
    stop(): CpuProfile {
      const after = groups.map((group) => group.read());
      const machineAfter = readMachineTicks();
      const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
      const share = (seconds: number): CpuShare => ({
        seconds,
        share: seconds / (wallSeconds * cores),
      });
      const result = groups.map((group, i) => ({
        name: group.name,
        cpu: share(sumDelta(before[i], after[i])),
      }));
      const machineSeconds = ticksToSeconds(machineAfter.busy - machineBefore.busy);
      const accounted = result.reduce((sum, group) => sum + group.cpu.seconds, 0);
      result.push({
        name: 'rest of the machine',
        cpu: share(Math.max(0, machineSeconds - accounted)),
      });
      return { wallSeconds, cores, machineBusy: share(machineSeconds), groups: result };
    },
  };
}

/** What the processes alive at the end used since the start (from zero for those born since). */
export function sumDelta(before: Map<number, number>, after: Map<number, number>): number {
  let sum = 0;
  for (const [pid, seconds] of after) sum += seconds - (before.get(pid) ?? 0);
  return sum;
}
