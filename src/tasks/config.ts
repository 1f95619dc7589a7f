// Task defaults (master, worker), each with its unit and the reason it was chosen.
import type { SchedulerPolicy } from '../scheduler/types.js'

export interface TasksConfig {
  /** Queue order and placement ranking of the master (--scheduler); see docs/operations.md. spread
   * (least loaded) is the default: on a small cluster of unequal machines it keeps every node
   * responsive and loses the least work when one dies. */
  policy: SchedulerPolicy
  /** The master looks at the queue at least this often even when nothing changed, to fail
   * expired deadlines and re-queue the tasks of dead workers. */
  masterPollMs: number
  /** Pending tasks one scheduling round considers (in submission order): bounds one plan's cost
   * (~3 ms for 1,000 tasks on 30 nodes); the rest waits for the next round. */
  maxTasksPerRound: number
  /** A new master treats a worker it has never heard of (forgotten after its death, or not yet
   * learned after the master's own restart) as gone only after leading this long: the
   * membership of a freshly started node is complete within a join and a heartbeat or two. */
  unknownWorkerGraceMs: number
  /** How often a worker re-checks its assignments against what it runs, besides every change. */
  reconcileMs: number
  /** Task starts and outcomes per report entry in the log. */
  maxEventsPerReport: number
  /** A task's start is reported this late (or with the next report going anyway): a task that
   * ends sooner reports once, its finish carrying the start time. Every report is a commit (~6
   * messages across three nodes); for 1,000 short tasks at 50/s this cut Raft messages 13.0k ->
   * 12.1k and the agents' CPU by ~8%. The price: `running` shows up to this late. */
  startReportDelayMs: number
  /** The leader sends a worker again what it has not acknowledged after this long. */
  assignmentResendMs: number
  /** How often a worker checks it is subscribed to the current leader's assignments. */
  assignmentCheckMs: number
  /** A log read from another node that takes longer is abandoned (its worker is likely gone). */
  logRequestTimeoutMs: number
  /** A finished task's work dir and output stay on its node this long (then removed). */
  taskDirRetentionMs: number
  /** How often a node removes expired task dirs. */
  taskDirGcIntervalMs: number
  /** Tasks one tenant may have unfinished (pending, assigned or running); a submission beyond it
   * is refused (429 too_many_tasks). Every one of them is in the replicated table, in every
   * snapshot, on every node: the caps bound that state against one runaway submitter. */
  maxUnfinishedTasksPerTenant: number
  /** The same for all tenants together. */
  maxUnfinishedTasks: number
  /** What all the task dirs a node keeps may hold together; past it, the oldest finished
   * attempts' dirs go first (checked with the expiry, every taskDirGcIntervalMs). Ten of the
   * executor's per-attempt bound (maxWorkDirBytes): a disk of a few tens of GiB keeps room. */
  taskDirsMaxBytes: number
}

export const DEFAULT_TASKS: TasksConfig = {
  policy: 'spread',
  masterPollMs: 250,
  maxTasksPerRound: 5000,
  unknownWorkerGraceMs: 10_000,
  reconcileMs: 2000,
  maxEventsPerReport: 1000,
  startReportDelayMs: 100,
  assignmentResendMs: 1000,
  assignmentCheckMs: 1000,
  logRequestTimeoutMs: 5000,
  taskDirRetentionMs: 24 * 3600_000,
  taskDirGcIntervalMs: 10 * 60_000,
  /** Far above a queue one tenant should build (a pending task waits for a whole node's worth of
   * others to finish), and a tenth of the total, so one tenant cannot fill the table alone. */
  maxUnfinishedTasksPerTenant: 10_000,
  /** A task record is ~1 KiB with a typical spec: ~100 MiB of table and snapshot at the cap. */
  maxUnfinishedTasks: 100_000,
  taskDirsMaxBytes: 10 * 1024 ** 3,
}
