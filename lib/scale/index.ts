// Scale-out extraction (the `conv1x1/scale` entry): shard jobs on a BullMQ queue in Redis, run by
// worker processes on any number of machines, with outputs written atomically once per shard.
export { createWorker, type CreateWorkerOptions, type ScaleWorker } from './worker';
export { submitJobs, type SubmitOptions, type SubmitSummary } from './submit';
export { openStatus, queueStatus, type QueueFailure, type QueueStatus, type StatusOptions, type StatusReader } from './status';
export { loadExtractionModel, runShard, shardFiles, type ExtractionModel, type RunShardOptions } from './run-shard';
export {
  planShards,
  shardJobId,
  shardLabel,
  validateShardJob,
  type OutputFormat,
  type PlannedShard,
  type ShardInputs,
  type ShardJob,
  type ShardSummary,
} from './job-spec';
export { ScaleError, ScaleErrorCodes, type ScaleErrorCode } from './scale-error';
export { parseRedisUrl } from './redis-url';
