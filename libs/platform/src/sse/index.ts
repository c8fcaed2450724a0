export * from './live-log';
export * from './sse-client';
