/** @tally/sdk/express: the express middleware (see tallyExpress). */
export { tallyExpress } from './middleware/express.ts';
