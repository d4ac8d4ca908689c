// Package push runs GraphQL operations for websocket clients and pushes
// subscription events to them.
//
// # Sharing
//
// Subscribers that share an organization, role and operation (its text,
// name and variables, less the `after` cursor) form a group, and a group
// runs one gqlgen subscription execution: the hub feeds it each new event,
// the subscription resolver resolves the event as the group's viewer (the
// same visibility rule queries use: invisible events are skipped), gqlgen
// executes the selection once, and the same bytes go to every member. So
// 1,000 dashboards of one vendor cost one resolution per event, not 1,000.
//
// The group and its resolver run in lock-step — one event in, one response
// (or a skip) out — so the hub always knows which event a response is for.
//
// # Replay
//
// A subscriber that passes `after` joins its group at once but is held
// "pending": the group buffers what it would have sent. The subscriber then
// replays, through a private execution of its own, the events after its
// cursor up to J, the last event the hub had dispatched when it joined;
// every later event reaches the group, hence its buffer. The group may
// still have events up to J queued when the member joins; it sends the
// member none at or below J, which the replay sends. A cursor handed out by
// a replica further along than this one may be beyond J: then nothing is
// replayed and the group sends nothing up to the cursor. Flushing the buffer
// then continues live with no gap and no duplicate at the seam.
package push
