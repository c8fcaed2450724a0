export * from './metrics-registry';
export * from './observability.module';
export * from './probe-port';
export * from './probes.controller';
export * from './readiness';
export * from './ready-probe';
