export * from './bootstrap';
export * from './env';
export * from './logging';
export * from './net';
