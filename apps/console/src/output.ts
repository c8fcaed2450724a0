/** Writes to a stream, waiting when its buffer is full: a long log must not pile up in memory. */
export async function write(stream: NodeJS.WriteStream, text: string): Promise<void> {
  if (!stream.write(text)) {
    await new Promise<void>((resolve) => stream.once('drain', resolve));
  }
}

export const out = (text: string): Promise<void> => write(process.stdout, text);

export const printJson = (value: unknown): Promise<void> =>
  out(`${JSON.stringify(value, null, 2)}\n`);
