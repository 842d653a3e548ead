import { z } from 'zod';
import { RunIdSchema } from './events';
import { RunStatusSchema } from './socket';

/**
 * A run as recorded in the run registry (the hash at `keys.runMeta(runId)`), decoded. Written by
 * `registerRun` (agent SDK `startRun`, gateway `start_run`) and kept current by the bridge's commit script.
 */
export const RunRecordSchema = z.object({
  runId: RunIdSchema,
  /** User id of the run's owner: the only user allowed to watch it. */
  owner: z.string().min(1),
  /** Agent name ('' when not known yet). */
  agent: z.string(),
  status: RunStatusSchema,
  /** Epoch ms. */
  createdAt: z.number().int().nonnegative(),
  /** Epoch ms of the last registry change or committed event. */
  updatedAt: z.number().int().nonnegative(),
  /** Highest committed seq (dense); 0 before the first event. */
  headSeq: z.number().int().nonnegative(),
  /** History incarnation (0 before the first event is committed). */
  epoch: z.number().int().nonnegative(),
  /** True once someone asked the agent to stop the run. */
  cancelRequested: z.boolean(),
});
export type RunRecord = z.output<typeof RunRecordSchema>;
