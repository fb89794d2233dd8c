import { MICROS_PER_MS } from '../../shared/time.ts';
import { describeQuotaCountersContract } from '../counters-contract.ts';
import { MemoryQuotaCounters } from './memory-counters.ts';

describeQuotaCountersContract('memory', (clock) => new MemoryQuotaCounters({ nowMicros: () => clock.now * MICROS_PER_MS }));
