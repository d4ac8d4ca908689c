// Package e2e tests the real channelgraph binary from the outside, as its
// clients and operators meet it: `channelgraph serve` processes built from
// ./cmd/channelgraph, spoken to only over HTTP and websockets.
//
//   - TestReferenceJavaScriptClient: graphql-ws, the reference JavaScript
//     client of the graphql-transport-ws protocol (run by Node.js from js/),
//     receives purchaseOrderUpdated events.
//   - TestReadmeClientResumes: the graphql-ws example of README.md, run
//     as the README says, prints every order committed while its
//     connection is cut and while the server restarts, once each, in order.
//   - TestTwoReplicasShareOneDatabase: two server processes on one PostgreSQL
//     database; a subscriber of one receives the changes committed through
//     the other, and event cursors are valid on either.
//   - TestKilledServerResumesWithoutLossOrDuplicates: the server is killed
//     with SIGKILL while orders are being written and pushed; a subscriber
//     that resumes on the restarted server with its last cursor receives
//     every committed order exactly once, in commit order.
//   - TestSoakReplicasKilledUnderLoad: two replicas, each SIGKILLed in turn
//     while concurrent writers record orders through both and subscribers
//     resume with their last cursor on whichever is up; nothing is missing,
//     duplicated or out of order (`make soak` runs it at length).
//   - TestReplicasStartTogether: two replicas started at the same time on an
//     empty database both come up (skipped while a known bug is open).
//
// The package has no code of its own besides this file: everything is in
// its tests. They need Go (the binary is built once per run), PostgreSQL
// (found or started by internal/testdb), and Node.js with npm for the
// JavaScript client: when node or npm is missing and the tests run as root
// where apt-get exists, Debian's nodejs and npm packages are installed;
// otherwise that test fails saying what to install. The client's npm
// packages are pinned in js/package-lock.json and installed with `npm ci`
// into a temporary copy of js/, so the work tree stays clean.
//
// Every server and Node process a test starts is killed when the test ends
// (and, on Linux, when the test binary dies); their output is printed only
// when the test fails.
package e2e
