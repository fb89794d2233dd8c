/** Runs the test sink in its own process so its CPU is not charged to the SDK being measured. */
import { startSink } from '../test/sink.ts';

const sink = await startSink('bench-key');
process.stdout.write(`${sink.url}\n`);
process.on('SIGTERM', () => void sink.stop().then(() => process.exit(0)));
