package e2e

import (
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/channelgraph/channelgraph/internal/testdb"
)

// TestGracefulShutdownClosesWebsockets: on SIGTERM the server closes each
// websocket with 1001 and a hint to resubscribe from the last cursor, and
// exits cleanly.
func TestGracefulShutdownClosesWebsockets(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "server", "sqlite:"+testdb.NewSQLite(t))
	c := newClient(t)
	ch := setupChannel(t, c, srv.graphqlURL())
	sub := subscribe(t, srv.wsURL(), ch.vendorToken, "")
	goLive(t, "W-", func(n string) { ch.mustCreateOrder(t, c, srv.graphqlURL(), n) }, sub.next)

	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-sub.done:
	case <-time.After(20 * time.Second):
		t.Fatal("the websocket stayed open after SIGTERM")
	}
	var ce *websocket.CloseError
	if !errors.As(sub.err, &ce) || ce.Code != websocket.CloseGoingAway || !strings.Contains(ce.Text, "resubscribe with after") {
		t.Fatalf("the websocket ended with %v, want 1001 and a resume hint", sub.err)
	}
	select {
	case <-srv.exited:
	case <-time.After(20 * time.Second):
		t.Fatal("the server did not exit after SIGTERM")
	}
	if !srv.cmd.ProcessState.Success() {
		t.Fatalf("the server did not exit cleanly: %v\n%s", srv.cmd.ProcessState, srv.out.String())
	}
}
