/** @tally/sdk/fastify: the fastify middleware (see tallyFastify). */
export { tallyFastify } from './middleware/fastify.ts';
