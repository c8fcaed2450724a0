/**
 * Characters a terminal acts on rather than shows: C0 controls but TAB, DEL, C1 controls
 * (U+0080–U+009F, 8-bit CSI among them) and the bidirectional overrides that reorder
 * what is shown.
 */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROLS = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

const escaped = (char: string): string => {
  const code = char.charCodeAt(0);
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
};

/**
 * Text from a task made safe to print: every control character shown as an escape
 * (`\x1b`, `\u202e`), so output can neither move the cursor, recolour, retitle nor hide
 * anything. A backslash stays as it is: the escapes are for a person to read.
 */
export function escapeControls(text: string): string {
  return text.replace(CONTROLS, escaped);
}
