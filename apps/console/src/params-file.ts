import { open } from 'node:fs/promises';
import { parseYaml } from '@app/catalogue';
import { CliError } from './cli-error';

/** As the api's body limit: a params file is a request body that does not go on argv. */
export const MAX_PARAMS_FILE_BYTES = 1024 * 1024;

/**
 * The params object of `--params-file FILE` (or `-`: standard input), so that secrets need not
 * be on the command line: JSON when it starts with `{`, else YAML read as the catalogue reads it
 * (one document, unique keys, no custom tags). At most MAX_PARAMS_FILE_BYTES.
 */
export async function readParamsFile(
  source: string,
  stdin: NodeJS.ReadableStream = process.stdin,
): Promise<Record<string, unknown>> {
  const name = source === '-' ? 'standard input' : source;
  const text = source === '-' ? await readBounded(stdin, name) : await readFileBounded(source);
  let parsed: unknown;
  if (text.trimStart().startsWith('{')) {
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      // not the parser's message: V8's quotes the text around the fault, which may be a secret
      const at = /position (\d+)/.exec((error as Error).message);
      throw new CliError(
        `--params-file ${name} is not valid JSON${at ? ` (at character ${at[1]})` : ''}`,
      );
    }
  } else {
    try {
      parsed = parseYaml(text);
    } catch (error) {
      throw new CliError(`--params-file ${name}: ${(error as Error).message}`);
    }
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new CliError(`--params-file ${name} must hold a JSON or YAML object`);
  }
  return parsed as Record<string, unknown>;
}

async function readFileBounded(path: string): Promise<string> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : (error as Error).message;
    throw new CliError(`--params-file ${path}: ${why}`);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new CliError(`--params-file ${path} is not a file`);
    if (info.size > MAX_PARAMS_FILE_BYTES) {
      throw new CliError(`--params-file ${path} is larger than ${MAX_PARAMS_FILE_BYTES} bytes`);
    }
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

async function readBounded(stream: NodeJS.ReadableStream, name: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += buffer.length;
    if (size > MAX_PARAMS_FILE_BYTES) {
      throw new CliError(`--params-file ${name} is larger than ${MAX_PARAMS_FILE_BYTES} bytes`);
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
