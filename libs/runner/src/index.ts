export { AnsiStripper, ANSI_MODES, stripAnsi, type AnsiMode } from './ansi';
export {
  LineSplitter,
  DEFAULT_MAX_LINE_LENGTH,
  type LineSink,
  type LineSplitterOptions,
} from './line-splitter';
export { Workspace } from './workspace';
export { SecretMasker } from './secret-masker';
export {
  prepareTask,
  removeTaskFiles,
  INVENTORY_FILE,
  NO_HOSTS_MATCHED_LINE,
  EXTRA_VARS_FILE,
  VARS_FILE,
  type PreparedCommand,
  type PrepareTaskContext,
} from './prepare-task';
export {
  runProcess,
  type OutputStream,
  type RunOptions,
  type RunResult,
  type RunningProcess,
} from './run-process';
export { ProcessRunner } from './process-runner';
export { RunnerModule } from './runner.module';
