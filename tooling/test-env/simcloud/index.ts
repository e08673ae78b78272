/**
 * The simulated cloud of the test tooling: cloud instances (moto's EC2, the Compute Engine
 * fake) become real nodes on this machine. See README.md in this directory.
 */
export * from './simcloud.js';
export * from './aws.js';
export * from './gce.js';
export * from './cloud-config.js';
export * from './jest.js';
export * from './ssh-check.js';
export * from './aws-launcher.js';
