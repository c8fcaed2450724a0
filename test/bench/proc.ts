import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's CPU times (USER_HZ; 100 on Linux everywhere). */
export const CLOCK_TICKS = 100;

/** CPU times of one process, in clock ticks; `children*` are those of its reaped children. */
export interface ProcessTimes {
  utime: number;
  stime: number;
  childrenUtime: number;
  childrenStime: number;
}

/** Parses /proc/PID/stat. The name in parentheses may hold spaces and ')', so fields count from the last ')'. */
export function parseStat(text: string): ProcessTimes {
  const end = text.lastIndexOf(')');
  if (end < 0) throw new Error('not a /proc/PID/stat line');
  // after ") ": field 3 (state) is index 0, so field N is index N - 3
  const fields = text
    .slice(end + 2)
    .trim()
    .split(' ');
  const field = (n: number): number => {
    const value = Number(fields[n - 3]);
    if (!Number.isFinite(value)) throw new Error(`/proc/PID/stat field ${n} is not a number`);
    return value;
  };
  return { utime: field(14), stime: field(15), childrenUtime: field(16), childrenStime: field(17) };
}

/** A kB field of /proc/PID/status (VmRSS, VmHWM, …) in MiB. */
export function parseStatusMiB(text: string, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text);
  if (!match) throw new Error(`no ${field} in /proc/PID/status`);
  return Number(match[1]) / 1024;
}

/** Busy and total ticks of all CPUs, from the first line of /proc/stat. */
export function parseCpuLine(text: string): { busy: number; total: number } {
  const line = text.split('\n', 1)[0];
  if (!line.startsWith('cpu ')) throw new Error('not /proc/stat');
  // user nice system idle iowait irq softirq steal (guest time is counted in user already)
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line
    .slice(4)
    .trim()
    .split(/\s+/)
    .map(Number);
  const busy = user + nice + system + irq + softirq + (steal ?? 0);
  return { busy, total: busy + idle + iowait };
}

export function readTimes(pid: number): ProcessTimes | undefined {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined; // gone
  }
}

export function readStatusMiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  return parseStatusMiB(readFileSync(`/proc/${pid}/status`, 'utf8'), field);
}

export function readMachineTicks(): { busy: number; total: number } {
  return parseCpuLine(readFileSync('/proc/stat', 'utf8'));
}

/** Every process whose command name (comm) is `name`, with its argv joined by spaces. */
export function processesNamed(name: string): { pid: number; cmdline: string }[] {
  const found: { pid: number; cmdline: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== name) continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim();
      found.push({ pid: Number(entry), cmdline });
    } catch {
      // exited while we looked
    }
  }
  return found;
}
