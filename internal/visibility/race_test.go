//go:build race

package visibility_test

// Under the race detector the pure-Go SQLite runs several times slower, so
// the randomized test checks fewer graphs there: enough to exercise the
// handler's concurrency. `make test` then runs 500 graphs per database
// without it.
const defaultGraphs = 50
