/** A setting the app cannot start with; the message names the variable and what it must be. */
export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
}
