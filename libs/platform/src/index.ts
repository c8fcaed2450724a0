export * from './bootstrap';
export * from './env';
export * from './health-check';
export * from './logging';
export * from './net';
