import { hostname } from 'node:os';
import { join } from 'node:path';
import { MAX_LINE_LENGTH, POOL_PATTERN } from '@app/contracts';
import {
  IntegerVariable,
  MatchingVariable,
  OneOfVariable,
  PathVariable,
  TextVariable,
} from '@app/platform';
import { ANSI_MODES, type AnsiMode } from '@app/runner';
import { defaultStateRoot } from './private-dir';

const MiB = 1024 * 1024;

export class DispatcherSettings {
  /**
   * The port of `/metrics` and `/health/live`, `/health/ready`; 0: none opened. Dispatchers
   * side by side on one host each need their own.
   */
  @IntegerVariable('DISPATCHER_HTTP_PORT', { min: 0, max: 65535 })
  readonly httpPort: number = 9102;

  /** The address that port listens on. An empty value is refused, not taken for the default. */
  @MatchingVariable('DISPATCHER_HTTP_HOST', /\S/, { rule: 'not be empty', emptyIsValue: true })
  readonly httpHost: string = '127.0.0.1';

  /** Its name in heartbeats and statuses. */
  @TextVariable('DISPATCHER_ID')
  readonly id: string = `${hostname()}-${process.pid}`;

  /** The pool whose queue it serves. */
  @MatchingVariable('DISPATCHER_POOL', POOL_PATTERN)
  readonly pool: string = 'default';

  /** Operations run at once (= prefetch). */
  @IntegerVariable('DISPATCHER_CONCURRENCY', { min: 1 })
  readonly concurrency: number = 4;

  /**
   * Per-operation workspaces, spill files and the pid lock; one dispatcher per directory.
   * Made 0700; start-up refuses one another user owns or may write (see private-dir.ts).
   */
  @PathVariable('DISPATCHER_WORK_DIR')
  readonly workDir: string = join(defaultStateRoot(), 'work');

  /** Handed to tasks as AEGIR_STATE_DIR; made and checked like the work dir. */
  @PathVariable('DISPATCHER_STATE_DIR')
  readonly stateDir: string = join(defaultStateRoot(), 'state');

  @IntegerVariable('DISPATCHER_HEARTBEAT_MS', { min: 1 })
  readonly heartbeatIntervalMs: number = 5000;

  /** TERM → KILL grace for a stopped or timed-out task. */
  @IntegerVariable('DISPATCHER_KILL_GRACE_MS', { min: 1 })
  readonly killGraceMs: number = 5000;

  /** Lines per `lines` event. */
  @IntegerVariable('DISPATCHER_LOG_BATCH_LINES', { min: 1 })
  readonly logBatchLines: number = 500;

  /** Longest a line waits for its batch. */
  @IntegerVariable('DISPATCHER_LOG_BATCH_MS', { min: 1 })
  readonly logBatchMs: number = 25;

  /** Longer lines are split into pieces marked `continues`; at most the wire's limit. */
  @IntegerVariable('DISPATCHER_MAX_LINE_LENGTH', { min: 1, max: MAX_LINE_LENGTH })
  readonly maxLineLength: number = MAX_LINE_LENGTH;

  /** Lines buffered per operation before the task's output is paused (or spilled to disk). */
  @IntegerVariable('DISPATCHER_MAX_BUFFERED_LINES', { min: 1 })
  readonly maxBufferedLines: number = 20000;

  /** Bytes of line text buffered in memory per operation, likewise. */
  @IntegerVariable('DISPATCHER_MAX_BUFFERED_BYTES', { min: 1 })
  readonly maxBufferedBytes: number = 2 * MiB;

  /** A `lines` event is sent once its lines' text reaches this many bytes. */
  @IntegerVariable('DISPATCHER_LOG_BATCH_BYTES', { min: 1 })
  readonly logBatchBytes: number = 256 * 1024;

  /** Bytes of spilled batches on disk per operation before the output is paused; 0: no spilling. */
  @IntegerVariable('DISPATCHER_SPILL_MAX_BYTES', { min: 0 })
  readonly spillMaxBytes: number = 1024 * MiB;

  /** Whether ANSI escapes in task output are kept or stripped. */
  @OneOfVariable('DISPATCHER_ANSI', ANSI_MODES)
  readonly ansi: AnsiMode = 'strip';

  /** On SIGTERM, how long running operations may finish before they are stopped. */
  @IntegerVariable('DISPATCHER_SHUTDOWN_GRACE_MS', { min: 0 })
  readonly shutdownGraceMs: number = 30000;

  /**
   * The pool's private sealing key (`sealing-<pool>.key` of `aegir keys:create`, mode 0600):
   * it opens the secret params the api sealed.
   */
  @PathVariable('DISPATCHER_SEALING_KEY_FILE', {
    required: "the path of the pool's sealing-<pool>.key file",
  })
  readonly sealingKeyFile!: string;

  /** The relay's Ed25519 public key (`aegir keys:create`): every dispatch, claim answer and cancel is checked with it. */
  @PathVariable('DISPATCHER_SIGNING_PUBLIC_KEY_FILE', {
    required: 'the path of the relay-signing.pub file',
  })
  readonly signingPublicKeyFile!: string;

  /** How long to wait for the relay's answer to a claim before asking again. */
  @IntegerVariable('DISPATCHER_CLAIM_TIMEOUT_MS', { min: 1 })
  readonly claimTimeoutMs: number = 10000;
}
