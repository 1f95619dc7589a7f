// Event ids: `<life>-<seq>`. The life is the number the node started with (its incarnation), so
// an id from before a restart is never mistaken for one of the current run; seq counts from 1.

/** What the API accepts as a Last-Event-ID. */
export const EVENT_ID_PATTERN = /^(\d{1,15})-(\d{1,15})$/

export interface EventId {
  life: number
  seq: number
}

export function formatEventId(id: EventId): string {
  return `${id.life}-${id.seq}`
}

/** Null when `text` is not an event id. */
export function parseEventId(text: string): EventId | null {
  const m = EVENT_ID_PATTERN.exec(text)
  return m === null ? null : { life: Number(m[1]), seq: Number(m[2]) }
}
