// The event stream: Server-Sent Events of what this node observes (src/events), resumable with
// Last-Event-ID, optionally narrowed to some topics.
import type { EventFeed } from '../../events/event-hub.js'
import { EventStreams } from '../event-stream.js'
import { eventsHeaders, eventsQuery, type HttpApp } from '../schemas.js'
import { replies, textReply } from '../responses.js'

export function eventRoutes(app: HttpApp, feed: EventFeed): void {
  const streams = new EventStreams()
  // A server waits for open responses when it closes, and a stream never finishes by itself.
  app.addHook('preClose', async () => {
    streams.endAll()
  })
  app.get(
    '/v1/events',
    // A HEAD would hold a stream open with nothing to send.
    {
      exposeHeadRoute: false,
      schema: {
        summary: "This node's events as Server-Sent Events, resumable with Last-Event-ID",
        querystring: eventsQuery,
        headers: eventsHeaders,
        response: replies(
          {
            200: textReply({
              contentType: 'text/event-stream',
              description: 'One event per message (id, event: topic.type, data: JSON), with keep-alive comments',
            }),
          },
          [400],
        ),
      },
    },
    (req, reply) => {
      void reply.hijack()
      streams.start(reply.raw, feed, {
        topics: req.query.topic,
        lastEventId: req.headers['last-event-id'] ?? req.query.lastEventId,
      })
    },
  )
}
