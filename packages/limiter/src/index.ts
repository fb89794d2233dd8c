/**
 * @tally/limiter — exact rate limits and quotas for Node.js: sliding-window log, sliding-window
 * counter, GCRA token bucket and fixed window; memory and Redis backends with atomic multi-policy
 * checks, a typed failure policy, hybrid leasing, and HTTP headers/middleware.
 */
export type { Algorithm, Clock, LimiterStore, Policy, PolicyState, StoreMode, StoreRequest, StoreResult } from './types.ts';
export { PolicyError, validatePolicies } from './policy.ts';
export type { Decision, DegradedDecision, RefundResult, StoreDecision } from './decision.ts';
export { Limiter } from './limiter.ts';
export type { CallOptions, LimiterOptions } from './limiter.ts';
export type { FailureCause, FailureMode, FailurePolicy } from './failure/failure-policy.ts';
export { admitDuringOutage } from './failure/failure-policy.ts';
export type { BreakerOptions, BreakerState } from './failure/breaker.ts';
export { MemoryStore } from './memory/memory-store.ts';
export type { MemoryStoreOptions, MemoryStoreStats } from './memory/memory-store.ts';
export { MemoryLimiter } from './memory/memory-limiter.ts';
export { RedisStore } from './redis/redis-store.ts';
export { RedisScriptError } from './redis/redis-store.ts';
export type { RedisStoreOptions, RedisStoreStats } from './redis/redis-store.ts';
export { createRedisClient } from './redis/client.ts';
export { HybridLimiter } from './hybrid/hybrid-limiter.ts';
export type { HybridOptions } from './hybrid/hybrid-limiter.ts';
export { EntitlementCounters } from './entitlement.ts';
export type { EntitlementConsumption, EntitlementState } from './entitlement.ts';
export { ExactEntitlementCounters } from './entitlement-exact.ts';
export type { ExactConsumeItem, ExactEntitlementState } from './entitlement-exact.ts';
export { legacyHeaders, rateLimitHeader, rateLimitPolicyHeader, retryAfterSeconds } from './http/headers.ts';
export { httpOutcome, PROBLEM_JSON } from './http/respond.ts';
export type { HttpOutcome, ProblemBody } from './http/respond.ts';
export type { MiddlewareOptions, RateLimitSource } from './http/middleware-options.ts';
export { expressRateLimit } from './http/express.ts';
export type { ExpressLikeRequest, ExpressLikeResponse } from './http/express.ts';
export { fastifyRateLimit } from './http/fastify.ts';
export type { FastifyLikeReply, FastifyLikeRequest } from './http/fastify.ts';
export { honoRateLimit } from './http/hono.ts';
export type { HonoLikeContext } from './http/hono.ts';
