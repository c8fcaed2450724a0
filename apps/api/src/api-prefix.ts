/** Every route of the api is under this prefix. */
export const API_PREFIX = 'api/v1';

/** Swagger UI, beside the versioned routes (the spec describes them all). */
export const DOCS_PATH = 'api/docs';

/** The OpenAPI document the UI shows, as JSON. */
export const DOCS_JSON_PATH = 'api/docs-json';
