// Package wstransport speaks GraphQL over websockets (gorilla/websocket) and
// leaves everything GraphQL to an Executor.
//
// It exists so that a hub can run one GraphQL execution for many subscribers
// and hand each of them the same result bytes: the transport never re-encodes
// a payload, it writes the executor's bytes between a per-operation prefix
// ({"id":…,"type":"next","payload":) and a closing brace.
//
// # Protocols
//
// The subprotocol is chosen from the client's Sec-WebSocket-Protocol offer,
// preferring graphql-transport-ws (the graphql-ws library's protocol) over
// the legacy graphql-ws (subscriptions-transport-ws). A client that offers
// neither is refused before the upgrade with HTTP 400: guessing a protocol
// would make a mismatched client fail later with a confusing close code.
//
// # Design
//
// Each connection runs three goroutines, all of which end when it closes:
//
//   - the reader decodes client messages one at a time, in order, and calls
//     Executor.Init and Executor.Start on its own goroutine, so a subscribe
//     sent right after connection_init always sees the ack state;
//   - the writer is the only goroutine that writes data frames (gorilla allows
//     one concurrent writer); it also sends websocket pings and legacy "ka";
//   - the handler's goroutine watches the init timeout and re-checks
//     authorization, and once the connection is closed it stops every live
//     operation and waits for the other two.
//
// Everything outbound goes through one bounded queue (Options.SendBuffer).
// Sink methods enqueue without blocking; a full queue means the client does
// not read as fast as results are produced, so the connection is closed as
// too slow instead of slowing the producer (which may be serving many other
// clients from the same execution).
//
// Closing is decided once (the first reason wins), then the writer sends the
// close frame, waits briefly for the client's answering close frame and drops
// the TCP connection.
//
// # Close codes
//
//	code  when                                                   protocols
//	1000  legacy connection_terminate                            graphql-ws
//	1001  no frame (not even a pong) for 2×PingInterval          both
//	1003  a binary frame                                         both
//	1007  a text frame that is not valid UTF-8                   both
//	1009  a message larger than ReadLimit (sent by gorilla)      both
//	1013  slow consumer: the send buffer overflowed; reason      both
//	      "too slow: resubscribe with after: your last cursor"
//	4400  invalid message (bad JSON, unknown type, missing or    graphql-transport-ws;
//	      mistyped field)                                        legacy only for a bad init payload
//	4401  "Unauthorized": subscribe/start before connection_ack  both
//	4403  "Forbidden" (or Init's error text): Init rejected;     both
//	      "token expired or revoked": StillAuthorized was false
//	4408  "Connection initialisation timeout"                    both
//	4409  "Subscriber for <id> already exists"                   both
//	4429  "Too many initialisation requests"                     both
//
// A close started by the client is answered with the client's own code. The
// slow-consumer close uses 1013 (Try Again Later) rather than 4429 so that a
// client can tell "reconnect and resume" apart from the protocol's 4429.
//
// The legacy protocol has no error close codes of its own, so it gets the same
// ones, preceded by a connection_error message where that helps (rejected or
// invalid init). Malformed legacy messages are answered with connection_error
// or error (when they carry an id) and the connection stays open, as
// subscriptions-transport-ws does.
package wstransport
