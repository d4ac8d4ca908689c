package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"time"
)

// servePprof starts Go's profiler endpoints on CHANNELGRAPH_PPROF_ADDR when
// it is set (never on the API's own listener: a profile shows request data
// and costs CPU), so a CPU profile can be taken from the deployed binary
// under real traffic — as `make bench` does. Unset, it does nothing.
func servePprof(logger *slog.Logger) (func(), error) {
	addr := os.Getenv("CHANNELGRAPH_PPROF_ADDR")
	if addr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("CHANNELGRAPH_PPROF_ADDR: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	logger.Info("profiler endpoints on", "addr", "http://"+ln.Addr().String()+"/debug/pprof/")
	return func() { _ = srv.Close() }, nil
}
