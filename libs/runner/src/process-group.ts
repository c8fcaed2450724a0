/**
 * Signals to a whole process group (the task, its children and theirs). Every task runs as the
 * leader of its own group, so its pid is the group id.
 */

/** Sends `signal` to the group; false when no process of it is left (ESRCH). */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

/** Whether any process of the group is left that we may signal (unreaped zombies count). */
export function groupExists(pgid: number): boolean {
  try {
    return signalGroup(pgid, 0);
  } catch {
    return false; // EPERM: the id now belongs to someone else's group
  }
}

const liveGroups = new Set<number>();
let exitHookInstalled = false;

/**
 * Remembers a running group so that it is killed if this process exits while it runs: a task
 * must not go on unsupervised. `detached` processes do not die with their parent.
 */
export function trackGroup(pgid: number): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const group of liveGroups) {
        try {
          process.kill(-group, 'SIGKILL');
        } catch {
          // Already gone, or not ours any more: nothing to do while exiting.
        }
      }
    });
  }
  liveGroups.add(pgid);
}

export function untrackGroup(pgid: number): void {
  liveGroups.delete(pgid);
}
