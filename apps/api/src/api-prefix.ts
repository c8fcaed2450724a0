/** Every route of the api is under this prefix. */
export const API_PREFIX = 'api/v1';
