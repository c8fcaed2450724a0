import { OPERATION_STATUSES, type OperationStatus } from '@app/contracts';
import { UUID_PATTERN } from '@app/database';
import { CliError } from './cli-error';

/** An integer flag within bounds, or a CliError naming the flag. */
export function integerFlag(flag: string, raw: string | undefined, min: number, max: number) {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new CliError(
      `${flag} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`,
    );
  }
  return value;
}

export function statusFlag(flag: string, raw: string | undefined): OperationStatus | undefined {
  if (raw === undefined) return undefined;
  if (!(OPERATION_STATUSES as readonly string[]).includes(raw)) {
    throw new CliError(
      `${flag} must be one of ${OPERATION_STATUSES.join(', ')}, got ${JSON.stringify(raw)}`,
    );
  }
  return raw as OperationStatus;
}

export function operationId(raw: string | undefined): string {
  if (!raw || !UUID_PATTERN.test(raw)) {
    throw new CliError(`id must be a UUID, got ${JSON.stringify(raw ?? '')}`);
  }
  return raw.toLowerCase();
}

/** A value given on the command line: JSON when it parses (5, true, "5", {...}), else the text. */
export function parseValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * The params of op:create: `--params-file` as the base, `--params JSON` over it (key by key),
 * each `--param key=value` over both.
 */
export function buildParams(
  json: string | undefined,
  pairs: readonly string[],
  file: Record<string, unknown> = {},
): Record<string, unknown> {
  let params: Record<string, unknown> = { ...file };
  if (json !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch (error) {
      throw new CliError(`--params is not valid JSON: ${(error as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new CliError('--params must be a JSON object');
    }
    params = { ...params, ...(parsed as Record<string, unknown>) };
  }
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at < 1) throw new CliError(`--param must be key=value, got ${JSON.stringify(pair)}`);
    // defineProperty, so a key like __proto__ is data and never a prototype.
    Object.defineProperty(params, pair.slice(0, at), {
      value: parseValue(pair.slice(at + 1)),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return params;
}

const DURATION = /^(\d+)(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** A week: longer is not a wait, and a typo like `30d` for `30s` should not go unnoticed. */
const MAX_DURATION_MS = 7 * 86_400_000;

/** `--timeout 90s` / `30m` / `2h`: milliseconds, or a CliError naming the flag. */
export function durationFlag(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const match = DURATION.exec(raw.trim());
  const ms = match ? Number(match[1]) * UNIT_MS[match[2]] : NaN;
  if (!match || !Number.isSafeInteger(ms) || ms < 1 || ms > MAX_DURATION_MS) {
    throw new CliError(
      `${flag} must be a duration like 90s, 30m or 2h (ms, s, m, h, d; at most 7d), got ${JSON.stringify(raw)}`,
    );
  }
  return ms;
}

/** An ISO 8601 time for `--since` / `--until`, as given (the api reads it the same way). */
export function timeFlag(flag: string, raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const iso = /^\d{4}-\d\d-\d\d(?:T\d\d:\d\d(?::\d\d(?:\.\d{1,6})?)?(?:Z|[+-]\d\d:?\d\d)?)?$/;
  if (!iso.test(raw) || Number.isNaN(Date.parse(raw))) {
    throw new CliError(
      `${flag} must be an ISO 8601 time like 2026-12-04 or 2026-12-04T10:00:00Z, got ${JSON.stringify(raw)}`,
    );
  }
  return raw;
}
