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

/** `--params JSON` as the base, each `--param key=value` on top of it. */
export function buildParams(
  json: string | undefined,
  pairs: readonly string[],
): Record<string, unknown> {
  let params: Record<string, unknown> = {};
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
    params = parsed as Record<string, unknown>;
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
