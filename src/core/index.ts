export * from './errors.ts';
export * from './clock.ts';
export * from './random.ts';
export * from './ids.ts';
export * from "./config.ts";
export * from './single-flight.ts';
export * from './retry.ts';
