/** @tally/sdk/hono: the hono middleware (see tallyHono). */
export { tallyHono } from './middleware/hono.ts';
