/** @tally/sdk/node: instrumentation for plain node:http request listeners. */
export { tallyNode } from './middleware/node.ts';
export type { NodeTrackingOptions } from './middleware/node.ts';
