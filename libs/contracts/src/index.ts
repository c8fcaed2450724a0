export * from './names';
export * from './status';
export * from './messages';
export * from './validate';
export * from './topology';
export * from './lines';
export * from './signing';
