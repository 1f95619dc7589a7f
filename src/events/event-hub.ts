// The node's event hub: what the composition root observes (members, leadership, voters, tasks,
// drains) becomes numbered events in a bounded replay buffer, read by subscribers (GET /v1/events).
// A subscriber holds only a cursor into that buffer, so a slow one costs no memory of its own: it
// falls behind until its cursor leaves the buffer, and is then told to resync.
import type { Clock } from '../util/clock.js'
import type { EventsConfig } from './config.js'
import { formatEventId, parseEventId } from './event-id.js'
import type { EventTopic, MeshEvent, MeshEventInput, ResyncNotice } from './types.js'

/** What a subscriber reads next: an event, a resync notice, or the end of the stream (the node is
 * stopping, or the subscriber fell behind while connected). */
export type StreamItem =
  { kind: 'event'; event: MeshEvent } | { kind: 'resync'; notice: ResyncNotice } | { kind: 'end' }

export interface SubscribeOptions {
  /** Resume after this event (as sent in SSE `id:` lines); absent: from the next event on. */
  lastEventId?: string | undefined
  /** Only these topics; absent or empty: all. */
  topics?: readonly EventTopic[] | undefined
}

/** What the HTTP layer needs of the hub. */
export interface EventFeed {
  readonly config: Readonly<EventsConfig>
  /** `wake` is called (synchronously, from whatever published) whenever next() may have more. */
  subscribe: (opts: SubscribeOptions, wake: () => void) => Subscription
}

export interface EventHubInit {
  clock: Clock
  config: Readonly<EventsConfig>
  /** Distinguishes this run of the node from earlier ones in event ids (event-id.ts). */
  life: number
}

export class EventHub implements EventFeed {
  readonly config: Readonly<EventsConfig>
  /** A ring of the newest events: `ring[(seq - 1) % capacity]` holds event `seq` while kept. */
  private readonly ring: MeshEvent[] = []
  private readonly capacity: number
  private lastSeq = 0
  private readonly subscriptions = new Set<Subscription>()
  private closed = false

  constructor(private readonly init: EventHubInit) {
    this.config = init.config
    this.capacity = Math.max(1, init.config.replayEvents)
  }

  /** Stamps the event with the next id and the time and hands it to the subscribers. */
  publish(input: MeshEventInput): MeshEvent {
    const seq = ++this.lastSeq
    const event = {
      id: formatEventId({ life: this.init.life, seq }),
      time: new Date(this.init.clock.nowMs()).toISOString(),
      ...input,
    } as MeshEvent
    this.ring[(seq - 1) % this.capacity] = event
    if (!this.closed) for (const s of this.subscriptions) s.wake()
    return event
  }

  subscribe(opts: SubscribeOptions, wake: () => void): Subscription {
    const topics = opts.topics === undefined || opts.topics.length === 0 ? null : new Set(opts.topics)
    const sub = new Subscription(this, topics, wake)
    if (opts.lastEventId !== undefined) sub.resumeAfter(opts.lastEventId)
    if (!this.closed) this.subscriptions.add(sub)
    return sub
  }

  /** Ends every subscription (the node is stopping); later ones end at once. */
  close(): void {
    this.closed = true
    for (const s of [...this.subscriptions]) s.wake()
  }

  get isClosed(): boolean {
    return this.closed
  }

  get subscriberCount(): number {
    return this.subscriptions.size
  }

  /** Events held for replay (at most config.replayEvents). */
  get size(): number {
    return Math.min(this.lastSeq, this.capacity)
  }

  get life(): number {
    return this.init.life
  }

  /** The seq of the newest event, 0 before the first. */
  get headSeq(): number {
    return this.lastSeq
  }

  /** The seq of the oldest event still held (headSeq + 1 while none is). */
  get oldestSeq(): number {
    return this.lastSeq - this.size + 1
  }

  /** The id of the newest event (`<life>-0` before the first): where a resync continues from. */
  get headId(): string {
    return formatEventId({ life: this.init.life, seq: this.lastSeq })
  }

  /** Event `seq` if it is still held. */
  at(seq: number): MeshEvent | undefined {
    return seq >= this.oldestSeq && seq <= this.lastSeq ? this.ring[(seq - 1) % this.capacity] : undefined
  }

  /** @internal */
  forget(sub: Subscription): void {
    this.subscriptions.delete(sub)
  }
}

export class Subscription {
  /** The seq of the last event this subscriber has been given (or skipped by its filter). */
  private cursor: number
  private notice: ResyncNotice | null = null
  private ended = false

  constructor(
    private readonly hub: EventHub,
    private readonly topics: ReadonlySet<EventTopic> | null,
    private readonly onWake: () => void,
  ) {
    this.cursor = hub.headSeq
  }

  /** @internal Where a reconnecting client resumes; a resync notice if that is not possible. */
  resumeAfter(lastEventId: string): void {
    const id = parseEventId(lastEventId)
    const hub = this.hub
    if (id !== null && id.life === hub.life && id.seq <= hub.headSeq && id.seq + 1 >= hub.oldestSeq) {
      this.cursor = id.seq
      return
    }
    const [reason, message] =
      id === null || id.life > hub.life || (id.life === hub.life && id.seq > hub.headSeq)
        ? (['unknown_id', `event ${lastEventId} was never sent by this node`] as const)
        : id.life < hub.life
          ? (['node_restarted', `the node restarted since event ${lastEventId}`] as const)
          : ([
              'too_far_behind',
              `event ${lastEventId} is older than the ${hub.config.replayEvents} events kept for replay`,
            ] as const)
    this.notice = { reason, message: `${message}: fetch the state afresh`, lastEventId: hub.headId }
  }

  /** The next thing to send, or null when there is nothing yet (wake() says when to ask again). */
  next(): StreamItem | null {
    if (this.notice !== null) {
      const notice = this.notice
      this.notice = null
      return { kind: 'resync', notice }
    }
    if (this.ended || this.hub.isClosed) {
      this.close()
      return { kind: 'end' }
    }
    if (this.behind) {
      // Told once, then ended: the client reconnects after the notice's id and fetches the state.
      this.close()
      return {
        kind: 'resync',
        notice: {
          reason: 'slow_consumer',
          message: `this client fell more than ${this.hub.config.replayEvents} events behind and was dropped: fetch the state afresh`,
          lastEventId: this.hub.headId,
        },
      }
    }
    while (this.cursor < this.hub.headSeq) {
      const event = this.hub.at(++this.cursor)
      if (event !== undefined && (this.topics === null || this.topics.has(event.topic))) return { kind: 'event', event }
    }
    return null
  }

  /** Events this subscriber has not been given were already dropped from the buffer. */
  get behind(): boolean {
    return this.cursor + 1 < this.hub.oldestSeq
  }

  get closed(): boolean {
    return this.ended
  }

  /** next() will end the stream: the subscriber fell behind, or the hub closed. */
  get ending(): boolean {
    return this.ended || this.hub.isClosed || this.behind
  }

  /** @internal */
  wake(): void {
    this.onWake()
  }

  /** Stops the subscription; next() says `end` from then on. */
  close(): void {
    this.ended = true
    this.hub.forget(this)
  }
}
