// What `meshos` says when it is used wrongly or asked for help. A UsageError exits with status 2.
export class UsageError extends Error {}

export const USAGE = `usage: meshos <command> [options]

commands:
  agent     run a node in the foreground
  dev       run a local cluster of N agent processes (Ctrl-C stops them all)
  nodes     list the cluster's members as the local node sees them
  status    show the local node's identity and role
  cluster   show the leader, term and voters
  help      show this text

meshos agent [options]              (each option also settable as MESHOS_<NAME>, e.g. MESHOS_DATA_DIR)
  --listen MULTIADDR       p2p listen address, repeatable      (default /ip4/127.0.0.1/tcp/7000)
  --bootstrap MULTIADDR    a member to join, with /p2p/<id>; repeatable
  --http HOST:PORT         node-local HTTP API                  (default 127.0.0.1:7070)
  --data-dir DIR           identity key and state               (default ./.meshos)
  --name NAME              display name                         (default: hostname)
  --cpus N                 cpus offered to tasks                (default: all)
  --memory MB              memory offered to tasks, in MB       (default: all)
  --label KEY=VALUE        node label, repeatable
  --log-level LEVEL        fatal|error|warn|info|debug|trace|silent (default info)
  --voters N               target number of raft voters, 1-9    (default 5)
  --scheduler POLICY       spread, bin-pack, round-robin, edf or fair (default spread)

meshos dev [--nodes N] [--dir DIR] [--base-port P] [--http-base-port P]
  starts N agents on 127.0.0.1 with p2p ports P, P+1, ... (default 7000) and HTTP ports
  7070, 7071, ...; data dirs under DIR (default: a new temp dir)

meshos nodes|status|cluster [--addr URL] [--json]
  --addr URL               the local node's API (default http://127.0.0.1:7070, or MESHOS_ADDR)
  --json                   print the raw JSON answer
`
