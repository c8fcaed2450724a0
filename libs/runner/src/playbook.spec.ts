import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResolvedTask } from '@app/catalogue';
import { prepareTask } from './prepare-task';
import { runProcess, type RunResult } from './run-process';
import { Workspace } from './workspace';

const PLAYBOOK = `- hosts: all
  gather_facts: false
  tasks:
    - debug:
        msg: "greeting=[{{ greeting }}] count={{ count + 1 }} op={{ aegir.operation_id }}"
    - debug:
        msg: "amqp=[{{ lookup('env', 'AMQP_URL') }}]"
    - command: cat {{ aegir.workspace }}/vars.json
      register: vars_file
    - debug:
        msg: "vars file greeting={{ (vars_file.stdout | from_json).greeting }}"
`;

describe('a playbook run end to end (needs ansible-playbook on PATH)', () => {
  let base: string;

  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'aegir-playbook-spec-'));
    process.env.AMQP_URL = 'amqp://dispatcher:secret@127.0.0.1/';
  });

  after(async () => {
    delete process.env.AMQP_URL;
    await rm(base, { recursive: true, force: true });
  });

  it('passes params as plain text, not templates, and none of the dispatcher environment', async () => {
    const playbookPath = join(base, 'site.yml');
    await writeFile(playbookPath, PLAYBOOK);
    const workspace = await Workspace.create(join(base, 'work'), 'op-');
    const task: ResolvedTask = {
      name: 'site',
      runner: 'ansible-playbook',
      timeoutSeconds: 120,
      playbookPath,
      inventory: 'localhost',
    };
    const prepared = await prepareTask(task, {
      operationId: 'op-42',
      type: 'demo.site',
      target: 'localhost',
      params: { greeting: "{{ 6 * 7 }} {{ lookup('pipe', 'echo injected') }}", count: 41 },
      workspace,
      stateDir: join(base, 'state'),
      taskName: 'site',
    });

    const lines: string[] = [];
    const result: RunResult = await runProcess({
      ...prepared,
      timeoutMs: 120_000,
      killGraceMs: 2_000,
      onLine: (_stream, text) => {
        lines.push(text);
      },
    }).result;
    const output = lines.join('\n');

    assert.equal(result.outcome, 'exited', output);
    assert.equal(result.exitCode, 0, output);
    assert.ok(
      output.includes(
        `greeting=[{{ 6 * 7 }} {{ lookup('pipe', 'echo injected') }}] count=42 op=op-42`,
      ),
      output,
    );
    assert.ok(!output.includes('injected]'), output);
    assert.ok(output.includes('amqp=[]'), output);
    assert.ok(output.includes('vars file greeting={{ 6 * 7 }}'), output);
    assert.ok(!output.includes('\u001b['), 'no colour codes');
    await workspace.remove();
  });
});
