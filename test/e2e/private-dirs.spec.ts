import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AppProcess } from '../support/processes';
import { Stack } from '../support/stack';

/** The real dispatcher refuses a work or state directory that others may write. */
describe('dispatcher start-up: private directories', () => {
  let stack: Stack;
  let open: string;

  before(async () => {
    stack = await Stack.start({ apps: [], prefix: 'aegir_e2e_dirs' });
    open = await mkdtemp(join(tmpdir(), 'aegir-world-writable-'));
    await chmod(open, 0o777);
  });

  after(async () => {
    await stack?.stop();
    await rm(open, { recursive: true, force: true });
  });

  for (const variable of ['DISPATCHER_WORK_DIR', 'DISPATCHER_STATE_DIR']) {
    it(`exits 1 for a pre-made world-writable ${variable}, naming the path and the rule`, async () => {
      const dispatcher = new AppProcess('dispatcher', {
        ...stack.envOf('dispatcher'),
        [variable]: open,
      });
      assert.equal(await dispatcher.waitForExit(30_000), 1, dispatcher.text());
      assert.equal(
        dispatcher.stderr(),
        `aegir dispatcher failed to start: ${variable} ${open} is writable by its group or by others (mode 0777): ` +
          'it must be a directory of the user the dispatcher runs as, writable by no one else (chmod 0700)\n',
      );
    });
  }
});
