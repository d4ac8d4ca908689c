//go:build !race

package server_test

const defaultGraphs = 1000
