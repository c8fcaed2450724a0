export * from './machine-host';
export * from './prepare-machine';
