package pagebench_test

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/channelgraph/channelgraph/internal/auth"
	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/server"
)

var profileTo = flag.String("page-bench-cpuprofile", "", "profile the server in-process serving the page to one viewer (-page-bench-profile-org) on BENCH_DATABASE_URL's loaded database, writing a CPU profile here")
var profileOrg = flag.Int64("page-bench-profile-org", 223, "the viewer organization -page-bench-cpuprofile serves")
var profilePriced = flag.Bool("page-bench-profile-priced", false, "profile the page with each line's prices (system p) instead")

// TestPageProfile is a tool, not a test: where the server's CPU goes while
// it serves the page, for one viewer, on a database `make bench` loaded
// (BENCH_DATABASE_URL, -page-bench-reuse).
func TestPageProfile(t *testing.T) {
	if *profileTo == "" {
		t.Skip("a profiling tool: go test ./internal/pagebench -run TestPageProfile -page-bench-cpuprofile FILE")
	}
	ctx := context.Background()
	url := withDatabase(t, os.Getenv("BENCH_DATABASE_URL"), "cg_bench_channelgraph")
	db, err := database.Open(url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tok, err := auth.IssueForSetup(ctx, db, *profileOrg, domain.RoleOwner, "profile")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(ctx, db, server.Config{DatabaseURL: url, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	query := pageQuery
	if *profilePriced {
		query = pricedPageQuery
	}
	body, _ := json.Marshal(map[string]string{"query": query})
	f, err := os.Create(*profileTo)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *concurrency}}
	var n atomic.Int64
	var wg sync.WaitGroup
	stopAt := time.Now().Add(*duration)
	if err := pprof.StartCPUProfile(f); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < *concurrency; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stopAt) {
				r, _ := http.NewRequest("POST", hs.URL+"/graphql", strings.NewReader(string(body)))
				r.Header.Set("Content-Type", "application/json")
				r.Header.Set("Authorization", "Bearer "+tok)
				resp, err := client.Do(r)
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	pprof.StopCPUProfile()
	t.Logf("%d requests in %v: %.0f req/s (client and server in one process)", n.Load(), *duration, float64(n.Load())/duration.Seconds())
}
