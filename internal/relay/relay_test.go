package relay_test

import (
	"strings"
	"testing"
	"time"

	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/relay"
)

func TestGlobalIDs(t *testing.T) {
	gid := relay.GlobalID(relay.TypePurchaseOrder, 42)
	if typ, id, err := relay.ParseGlobalID(gid); err != nil || typ != relay.TypePurchaseOrder || id != 42 {
		t.Fatalf("round trip: %q %d %v", typ, id, err)
	}
	if _, err := relay.ParseID("id", relay.TypeOrganization, gid); domain.ErrorCode(err) != domain.CodeInvalid {
		t.Fatalf("an ID of another type was accepted: %v", err)
	}
	for _, bad := range []string{"", "%%%", "T3JnYW5pemF0aW9u", relay.GlobalID("X", 0), relay.GlobalID("X", -1),
		"UHVyY2hhc2VPcmRlcjphYmM", strings.Repeat("A", 200)} {
		if _, _, err := relay.ParseGlobalID(bad); domain.ErrorCode(err) != domain.CodeInvalid {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestPages(t *testing.T) {
	at := time.Date(2026, 11, 22, 10, 0, 0, 123456000, time.UTC)
	c := relay.Cursor("orders", at, int64(7))
	p, err := relay.NewPage(nil, &c)
	if err != nil || p.Size != relay.DefaultPageSize {
		t.Fatalf("page: %+v %v", p, err)
	}
	var gotAt time.Time
	var gotID int64
	if ok, err := p.ScanAfter("orders", &gotAt, &gotID); !ok || err != nil || !gotAt.Equal(at) || gotID != 7 {
		t.Fatalf("cursor round trip: %v %d %v", gotAt, gotID, err)
	}
	var name string
	if _, err := p.ScanAfter("organizations", &name, &gotID); err == nil {
		t.Fatalf("a cursor of another list was accepted")
	}
	if _, err := p.ScanAfter("orders", &gotID); err == nil {
		t.Fatalf("a cursor with the wrong arity was accepted")
	}
	for _, first := range []int{-1, relay.MaxPageSize + 1} {
		if _, err := relay.NewPage(&first, nil); domain.ErrorCode(err) != domain.CodeInvalid {
			t.Errorf("first=%d: %v", first, err)
		}
	}
	for _, bad := range []string{"", "!!", "bnVsbA", "W10", strings.Repeat("W", 600)} {
		if _, err := relay.NewPage(nil, &bad); domain.ErrorCode(err) != domain.CodeInvalid {
			t.Errorf("after=%q: %v", bad, err)
		}
	}
}

func TestBackwardPages(t *testing.T) {
	one, two := 1, 2
	if _, err := (relay.Args{First: &one, Last: &two}).Page(); domain.ErrorCode(err) != domain.CodeInvalid || !strings.Contains(err.Error(), "not both") {
		t.Fatalf("first and last together: %v", err)
	}
	for _, last := range []int{-1, relay.MaxPageSize + 1} {
		if _, err := (relay.Args{Last: &last}).Page(); domain.ErrorCode(err) != domain.CodeInvalid || !strings.Contains(err.Error(), "last") {
			t.Errorf("last=%d: %v", last, err)
		}
	}
	c := relay.Cursor("orders", int64(7))
	p, err := relay.Args{Before: &c}.Page()
	if err != nil || !p.Backward || p.Size != relay.DefaultPageSize {
		t.Fatalf("before alone: %+v %v", p, err)
	}
	var id int64
	if ok, err := p.ScanBefore("orders", &id); !ok || err != nil || id != 7 {
		t.Fatalf("before round trip: %d %v", id, err)
	}
	if _, err := p.ScanBefore("organizations", &id); domain.ErrorCode(err) != domain.CodeInvalid {
		t.Fatalf("a cursor of another list was accepted as before: %v", err)
	}
	// A backward page comes back in the list's order; the extra row says
	// more precede it, and a before cursor that more follow.
	p, _ = relay.Args{Last: &two, Before: &c}.Page()
	conn := relay.NewConnection(p, []int{6, 5, 4}, func(i int) string { return "" }, nil)
	if len(conn.Nodes) != 2 || conn.Nodes[0] != 5 || conn.Nodes[1] != 6 || !conn.HasPrevious || !conn.HasNextPage {
		t.Fatalf("backward connection: %+v", conn)
	}
	p, _ = relay.Args{Last: &two}.Page()
	conn = relay.NewConnection(p, []int{6}, func(i int) string { return "" }, nil)
	if len(conn.Nodes) != 1 || conn.HasPrevious || conn.HasNextPage {
		t.Fatalf("last page of a short list: %+v", conn)
	}
	k := relay.Keyset{List: "orders", Columns: []string{"a", "id"}, Desc: true}
	if got := p.OrderBy(k); got != "a ASC, id ASC" {
		t.Fatalf("backward order of a descending list: %q", got)
	}
}
