// What `meshos` says when it is used wrongly or asked for help. A UsageError exits with status 2.
export class UsageError extends Error {
  /** `section`: the usage of the command that was misused, shown instead of the whole text. */
  constructor(
    message: string,
    readonly section?: string,
  ) {
    super(message)
  }
}

export const RUN_USAGE = `meshos run [options] [--] COMMAND [ARG...]
  submits COMMAND and prints the task id (one per line with --count). COMMAND runs directly
  with the ARGs, no shell; options end at COMMAND, so ARGs may start with '-'.
  --shell                  run "COMMAND ARG..." (joined by spaces) with /bin/sh -c: pipes, &&, globs
  --cpus N                 cpus it needs, fractions allowed           (default 0.1)
  --memory MB              memory it needs, in MB                     (default 64)
  --timeout DURATION       killed after this long: ms, or 30s, 5m, 1h30m (default: none)
  --retries N              runs again after a failure, up to N times  (default 0)
  --priority N             0-100, higher is placed first              (default 50)
  --deadline TIME          fails if still waiting for a node then: ISO-8601, epoch ms, +DURATION
  --tenant NAME            whose share it counts against (fair policy) (default "default")
  --env KEY=VALUE          environment variable, repeatable
  --label KEY=VALUE        runs only on a node with this label, repeatable
  --policy POLICY          placement for this task: spread, bin-pack or round-robin
  --name NAME              display name
  --count N                submits N copies at once
  --wait                   waits for the end. One task: its stdout and stderr stream here and
                           meshos exits with its exit code (1 if it failed without one: signal,
                           timeout, memory, lost, deadline; 130 if cancelled). With --count:
                           progress on stderr (a bar on a terminal), exit 0 if every task
                           succeeded, else 1
  --json                   print the answer as JSON: the ids and states; with --wait the tasks
                           as they ended (the output stays a \`meshos logs ID\` away)
  --addr URL               the local node's API (default http://127.0.0.1:7070, or MESHOS_ADDR)
  --token-file FILE        the node's API token, when its agent has one (default: MESHOS_TOKEN)
`

export const TASKS_USAGE = `meshos tasks [--state STATE] [--node NODE] [--tenant T] [--limit N] [--after ID] [--json]
  lists tasks in submission order (oldest first) and how many match
  --state STATE            pending, assigned, running, succeeded, failed or cancelled
  --node NODE              tasks placed on this node (id or name)
  --tenant T               tasks of this tenant
  --limit N                rows per page, 1-1000                      (default 100)
  --after ID               the page after task ID (the listing prints the next page's ID)
meshos task ID [--json]    one task: spec, state, placement (or why it waits), attempts
meshos logs ID [-f|--follow] [--stderr] [--attempt N]
  the stdout of the task's current or last attempt; -f keeps printing until the task ends
  (through retries); --stderr prints its stderr instead; --attempt N an earlier attempt
meshos cancel ID... [--json]  cancels tasks: a pending one at once; a running one is stopped by its node
  each also takes --addr URL and --token-file FILE (as for run); --json prints the answer as JSON
`

export const EVENTS_USAGE = `meshos events [--topic T]... [--since ID] [--json]
  follows the node's event stream until Ctrl-C, one line per event: members joining and changing
  state, leaders elected, voters added and removed, task state changes, drain progress. A dropped
  connection is resumed where it stopped; "resync" means events were missed
  --topic T                only topic T, repeatable or comma-separated: members, leader, voters,
                           tasks, drain                               (default: all)
  --since ID               first the events after ID (an id printed before), if the node still
                           has them
  --json                   one JSON object per line; a resync notice as {"resync": {...}}
  also takes --addr URL and --token-file FILE (as for run)
`

export const HTTP_TOKEN_USAGE = `meshos http-token [FILE]
  makes a random token for the HTTP API and prints it, or writes it to FILE (mode 0600; an
  existing FILE is never overwritten). Give the file to the agent as --http-token-file FILE and
  to the other commands as --token-file FILE or MESHOS_TOKEN
`

export const KEYGEN_USAGE = `meshos keygen > FILE
  writes a new cluster key to stdout (a file it writes to is made readable by its owner only);
  give every node of the cluster the same key with --cluster-key FILE
`

export const USAGE = `usage: meshos <command> [options]

commands:
  agent     run a node in the foreground
  dev       run a local cluster of N agent processes (Ctrl-C stops them all)
  keygen    write a new cluster key to stdout
  nodes     list the cluster's members as the local node sees them
  status    the local node's role, the leader, term, voters and the cluster's health
  cluster   show the leader, term and voters
  run       run a command as a task somewhere in the cluster
  tasks     list tasks
  task      show one task
  logs      print (or follow) a task's output
  cancel    cancel tasks
  events    follow what happens in the cluster, as it happens
  http-token  make a token for the HTTP API
  help      show this text (meshos help COMMAND: that command's options)

meshos agent [options]              (each option also settable as MESHOS_<NAME>, e.g. MESHOS_DATA_DIR)
  --listen MULTIADDR       p2p listen address, repeatable      (default /ip4/127.0.0.1/tcp/7000)
  --bootstrap MULTIADDR    a member to join, with /p2p/<id>; repeatable
  --http HOST:PORT         node-local HTTP API                  (default 127.0.0.1:7070);
                           an address other than loopback needs --http-token-file
  --http-token-file FILE   every API request must carry this token (Authorization: Bearer)
  --data-dir DIR           identity key and state               (default ./.meshos)
  --name NAME              display name                         (default: hostname)
  --cpus N                 cpus offered to tasks                (default: all)
  --memory MB              memory offered to tasks, in MB       (default: all)
  --label KEY=VALUE        node label, repeatable
  --log-level LEVEL        fatal|error|warn|info|debug|trace|silent (default info)
  --log-format FORMAT      json, pretty, or auto: pretty when stderr is a terminal (default auto)
  --voters N               target number of raft voters, 1-9    (default 5)
  --standbys N             raft learners kept ready to replace a voter, 0-9; every
                           other node is a worker that holds no log (default 2)
  --scheduler POLICY       spread, bin-pack, round-robin, edf or fair (default spread)
  --spawner KIND           how tasks are started: launcher (posix_spawn), child_process, or
                           auto: the launcher if it was built (default auto)
  --cluster-key FILE       the cluster's key (meshos keygen): only nodes holding it can connect
                           (env MESHOS_CLUSTER_KEY_FILE)
  --insecure               allow --listen/--bootstrap beyond loopback without a cluster key:
                           anyone who reaches the node can then join and run commands on it
  --task-user NAME         who tasks run as when the agent is root (default nobody)
  --task-pids-max N        processes one task may have at once, with cgroups (default 1024)
  --task-disk-mb MB        what one task may keep in its work dir; also its largest file
                           (default 1024)

meshos dev [--nodes N] [--dir DIR] [--base-port P] [--http-base-port P]
  starts N agents on 127.0.0.1 with p2p ports P, P+1, ... (default 7000) and HTTP ports
  7070, 7071, ...; data dirs and the cluster key (DIR/cluster.key) under DIR (default: a new
  temp dir)

${KEYGEN_USAGE}
meshos nodes|status|cluster [--addr URL] [--token-file FILE] [--json]
  --addr URL               the local node's API (default http://127.0.0.1:7070, or MESHOS_ADDR)
  --token-file FILE        the node's API token, when its agent has one (default: MESHOS_TOKEN)
  --json                   print the raw JSON answer (status: GET /v1/status's)
  tables and states are coloured on a terminal, unless NO_COLOR is set

${RUN_USAGE}
${TASKS_USAGE}
${EVENTS_USAGE}
${HTTP_TOKEN_USAGE}`

/** `meshos help COMMAND` and `meshos COMMAND --help`. */
export const COMMAND_USAGE: Record<string, string> = {
  run: RUN_USAGE,
  tasks: TASKS_USAGE,
  task: TASKS_USAGE,
  logs: TASKS_USAGE,
  cancel: TASKS_USAGE,
  events: EVENTS_USAGE,
  'http-token': HTTP_TOKEN_USAGE,
  keygen: KEYGEN_USAGE,
}
