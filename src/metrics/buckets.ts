// Histogram bucket bounds, in seconds. Each set spans what its measurement takes on a healthy node
// up to the point where it is plainly broken, a few buckets per factor of ten, so a quantile
// estimated from them is within a bucket's width of the truth where operators look.

/** A commit on the leader: one fsync plus a round trip to a majority, ~1 ms on a LAN; up to
 * seconds when a disk stalls or the leader is about to lose its quorum. */
export const COMMIT_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]

/** A write through the write path: a commit, plus a forward to the leader from a follower, plus
 * retries through an election; it gives up at writeTimeoutMs (5 s), so the last bucket is 10 s. */
export const WRITE_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

/** Submission committed to assignment committed: 0 when the leader places a task in its own
 * submission, a round and a commit (~ms) otherwise, and as long as the cluster is full when
 * tasks queue for capacity: minutes to an hour. */
export const SCHEDULING_SECONDS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60, 300, 900, 3600]

/** A task's run time: from an `echo` (a few ms) to batch jobs of hours; a day is the last bucket. */
export const TASK_RUN_SECONDS = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600, 4 * 3600, 86400]

/** The node-local HTTP API: reads answer from memory in well under a millisecond, writes wait for
 * a commit (ms), and a write gives up after writeTimeoutMs (5 s). */
export const HTTP_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
