// Package pushbench measures live push (issue 4's targets) against a raw
// floor, in one run: commit-to-push latency p50/p99 and server memory per
// idle subscriber, at 1,000 and 10,000 subscribers. It has no code of its
// own; see pushbench_test.go and `make bench-push`.
//
// The floor is the least any push server must do: a PostgreSQL NOTIFY
// wake-up, then a gorilla websocket write of a fixed message to every
// connection, with no GraphQL, no event log read and no authorization.
// Channelgraph does the full path: commit, wake-up, log read, one shared
// GraphQL resolution per group, fan-out through the websocket transport.
//
// Subscribers live in a child process (the test binary re-executed), so the
// server's memory is measured alone and 10,000 connections fit the file
// descriptor limit.
package pushbench
