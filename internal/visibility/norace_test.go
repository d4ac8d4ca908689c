//go:build !race

package visibility_test

const defaultGraphs = 1000
