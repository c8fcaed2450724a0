/**
 * The schemas of what the operations routes answer, for the OpenAPI document. Each class
 * implements the view the store returns, so the two cannot drift apart; the handlers return
 * the store's objects unchanged.
 */
import { ApiProperty } from '@nestjs/swagger';
import { OPERATION_STATUSES, type LogStream, type OperationStatus } from '@app/contracts';
import type {
  LogLineView,
  OperationPage as StoredOperationPage,
  OperationView,
  TaskView,
} from '@app/database';

const LOG_STREAMS: LogStream[] = ['stdout', 'stderr', 'system'];
const RUNNERS: TaskView['runner'][] = ['ansible-playbook', 'command'];
const AT = '2026-12-03T19:25:00.000Z';
const OPERATION_ID = '3f2b8c1e-6a4d-4e0b-9c7a-1d2e3f4a5b6c';

export class Task implements TaskView {
  @ApiProperty({ format: 'uuid', example: 'a1b2c3d4-0000-4000-8000-000000000001' })
  id!: string;

  @ApiProperty({ description: 'Its place in the operation, from 0', example: 0 })
  position!: number;

  @ApiProperty({ example: 'prepare' })
  name!: string;

  @ApiProperty({ enum: RUNNERS, example: 'command' })
  runner!: TaskView['runner'];

  @ApiProperty({ enum: OPERATION_STATUSES, example: 'succeeded' })
  status!: OperationStatus;

  @ApiProperty({ type: Number, nullable: true, example: 0 })
  exitCode!: number | null;

  @ApiProperty({ type: String, nullable: true, example: null })
  reason!: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: AT })
  startedAt!: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: AT })
  finishedAt!: string | null;

  @ApiProperty({ type: Number, nullable: true, example: 1840 })
  durationMs!: number | null;
}

export class Operation implements OperationView {
  @ApiProperty({ format: 'uuid', example: OPERATION_ID })
  id!: string;

  @ApiProperty({ description: 'An operation type of the catalogue', example: 'site.release' })
  type!: string;

  @ApiProperty({ description: 'The host or site it acts on', example: 'shop.example.com' })
  target!: string;

  @ApiProperty({ description: "The type's pool: which dispatchers run it", example: 'default' })
  pool!: string;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'As validated, with defaults filled in; every secret param shown as `********`',
    example: { version: '2.4.1' },
  })
  params!: Record<string, unknown>;

  @ApiProperty({ enum: OPERATION_STATUSES, example: 'running' })
  status!: OperationStatus;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Why it ended as it did',
    example: null,
  })
  reason!: string | null;

  @ApiProperty({ type: Number, nullable: true, example: null })
  exitCode!: number | null;

  @ApiProperty({ type: String, nullable: true, example: 'dispatcher-1' })
  dispatcherId!: string | null;

  @ApiProperty({
    type: Number,
    nullable: true,
    description: 'How many lines the operation emitted, known with its final status',
    example: null,
  })
  lineCount!: number | null;

  @ApiProperty({
    type: Number,
    nullable: true,
    description: 'How many of them were stored when the final status arrived',
    example: null,
  })
  linesStored!: number | null;

  @ApiProperty({
    type: Boolean,
    nullable: true,
    description: 'Every emitted line is stored; null until both counts are known',
    example: null,
  })
  complete!: boolean | null;

  @ApiProperty({ description: '1, or one more than the attempt it retries', example: 1 })
  attempt!: number;

  @ApiProperty({ type: String, format: 'uuid', nullable: true, example: null })
  retryOf!: string | null;

  @ApiProperty({ type: String, format: 'uuid', nullable: true, example: null })
  retriedBy!: string | null;

  @ApiProperty({
    description: 'One at a time per target (the type is not parallel)',
    example: true,
  })
  exclusive!: boolean;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: null })
  cancelRequestedAt!: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    description: '`token:<name>`, `console:<os user>`, or `relay` (an automatic retry)',
    example: 'token:ci',
  })
  createdBy!: string | null;

  @ApiProperty({ type: String, nullable: true, example: null })
  cancelledBy!: string | null;

  @ApiProperty({ type: String, nullable: true, example: null })
  retryRequestedBy!: string | null;

  @ApiProperty({ format: 'date-time', example: AT })
  createdAt!: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: AT })
  dispatchedAt!: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: AT })
  startedAt!: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: null })
  finishedAt!: string | null;

  @ApiProperty({ type: Number, nullable: true, example: null })
  durationMs!: number | null;

  @ApiProperty({
    type: [Task],
    required: false,
    description: 'In order; present when one operation is read',
  })
  tasks?: Task[];
}

export class OperationPage implements StoredOperationPage {
  @ApiProperty({ type: [Operation], description: 'Newest first, without their tasks' })
  items!: Operation[];

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Pass as `cursor` for the next page; null on the last one',
    example: null,
  })
  nextCursor!: string | null;
}

export class LogLine implements LogLineView {
  @ApiProperty({ description: "The line's place in the operation's output, from 1", example: 1 })
  seq!: number;

  @ApiProperty({ type: String, format: 'uuid', nullable: true, example: null })
  taskId!: string | null;

  @ApiProperty({ enum: LOG_STREAMS, example: 'stdout' })
  stream!: LogStream;

  @ApiProperty({ example: 'preparing release 2.4.1 of shop.example.com' })
  text!: string;

  @ApiProperty({ format: 'date-time', example: AT })
  at!: string;

  @ApiProperty({
    description: "A piece of a line longer than the dispatcher's limit: the next line continues it",
    example: false,
  })
  continues!: boolean;
}

export class LogPage {
  @ApiProperty({ format: 'uuid', example: OPERATION_ID })
  operationId!: string;

  @ApiProperty({
    enum: OPERATION_STATUSES,
    description: 'Read before the lines: when terminal, the lines include every one stored',
    example: 'running',
  })
  status!: OperationStatus;

  @ApiProperty({ type: [LogLine] })
  lines!: LogLine[];

  @ApiProperty({
    description:
      'The seq to ask for next with `after`: the last one returned, or `after` when none were',
    example: 1,
  })
  next!: number;
}
