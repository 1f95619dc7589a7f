// `meshos events`: follows the local node's event stream until Ctrl-C, one line per event (JSON
// lines with --json), resuming by itself when the connection drops.
import { parseArgs } from 'node:util'
import { EVENT_TOPICS, type EventTopic } from '../client/client.js'
import { EVENT_ID_PATTERN } from '../events/event-id.js'
import { CLIENT_OPTIONS, clientFor, flags } from './args.js'
import { formatEvent, formatResync } from './event-format.js'
import { EVENTS_USAGE, UsageError } from './usage.js'

export async function eventsCommand(args: string[], env: Record<string, string | undefined>): Promise<number> {
  const { values } = flags(EVENTS_USAGE, () =>
    parseArgs({
      args,
      options: {
        ...CLIENT_OPTIONS,
        topic: { type: 'string', multiple: true },
        since: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }),
  )
  if (values.help === true) {
    process.stdout.write(`usage: ${EVENTS_USAGE}`)
    return 0
  }
  const topics = (values.topic ?? []).flatMap(t => t.split(','))
  for (const t of topics)
    if (!(EVENT_TOPICS as readonly string[]).includes(t))
      throw new UsageError(`--topic "${t}": expected one of ${EVENT_TOPICS.join(', ')}`, EVENTS_USAGE)
  if (values.since !== undefined && !EVENT_ID_PATTERN.test(values.since))
    throw new UsageError(`--since "${values.since}": expected an event id as printed, like 3-42`, EVENTS_USAGE)
  const client = clientFor({ addr: values.addr, tokenFile: values['token-file'] }, env, EVENTS_USAGE)

  const stop = new AbortController()
  process.once('SIGINT', () => {
    stop.abort()
  })
  const json = values.json === true
  for await (const item of client.events({
    topics: topics as EventTopic[],
    lastEventId: values.since,
    signal: stop.signal,
  })) {
    const line =
      item.kind === 'event'
        ? json
          ? JSON.stringify(item.event)
          : formatEvent(item.event)
        : json
          ? JSON.stringify({ resync: item.notice })
          : formatResync(item.notice)
    process.stdout.write(line + '\n')
  }
  return 130
}
