package pagebench_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/server"
)

// statementLog records the SQL of requests whose context is marked.
type statementLog struct {
	mu   sync.Mutex
	stmt []string
}

type captureKey struct{}

func (l *statementLog) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context {
	return ctx
}

func (l *statementLog) AfterQuery(ctx context.Context, e *bun.QueryEvent) {
	if ctx.Value(captureKey{}) == nil {
		return
	}
	l.mu.Lock()
	l.stmt = append(l.stmt, withValuesWritten(e.Query, database.BoundValues(ctx)))
	l.mu.Unlock()
}

// withValuesWritten writes into query the values database.Bind sent apart
// from it ($1, $2, …), for a pgbench script: pgbench prepares each
// statement of its script once, so the floor still plans each once, as
// the server's cached statements do.
func withValuesWritten(query string, values []any) string {
	for i := len(values); i >= 1; i-- { // $12 before $1
		var literal string
		switch v := values[i-1].(type) {
		case []int64:
			ids := make([]string, len(v))
			for j, id := range v {
				ids[j] = strconv.FormatInt(id, 10)
			}
			literal = "'{" + strings.Join(ids, ",") + "}'::bigint[]"
		default:
			literal = fmt.Sprint(v)
		}
		query = strings.ReplaceAll(query, "$"+strconv.Itoa(i), literal)
	}
	return query
}

// captureFloor serves the page once per viewer through the real handler on
// Channelgraph's database, records every statement it issued, and writes
// them as one pgbench script per viewer: the floor replays exactly that SQL
// without Go.
func (b *bench) captureFloor(ctx context.Context) map[int64]string {
	t := b.t
	db, err := database.Open(b.oursURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	log := &statementLog{}
	db.AddQueryHook(log)
	srv, err := server.New(ctx, db, server.Config{DatabaseURL: b.oursURL,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	body, _ := json.Marshal(map[string]string{"query": pageQuery})
	scripts := map[int64]string{}
	for _, v := range b.viewers {
		for i := 0; i < 2; i++ { // the second time, as the warm server runs it
			log.mu.Lock()
			log.stmt = nil
			log.mu.Unlock()
			r := httptest.NewRequest("POST", "/graphql", strings.NewReader(string(body)))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Authorization", "Bearer "+b.tokens[v.org])
			r = r.WithContext(context.WithValue(r.Context(), captureKey{}, true))
			w := httptest.NewRecorder()
			srv.Handler().ServeHTTP(w, r)
			if w.Code != http.StatusOK || strings.Contains(w.Body.String(), `"errors"`) {
				t.Fatalf("%s: %d %s", v, w.Code, w.Body.String())
			}
		}
		var script strings.Builder
		for _, s := range log.stmt {
			script.WriteString(strings.TrimSpace(s))
			script.WriteString(";\n")
		}
		path := filepath.Join(b.dir, fmt.Sprintf("floor-%s-%d.sql", v.kind, v.org))
		if err := os.WriteFile(path, []byte(script.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: the page costs %d statements (%s)", v, len(log.stmt), path)
		scripts[v.org] = path
	}
	return scripts
}
