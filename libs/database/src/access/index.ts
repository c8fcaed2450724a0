export * from './api-token.repository';
export * from './audit-log';
export * from './token-rules';
