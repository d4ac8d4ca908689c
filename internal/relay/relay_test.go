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
	if err != nil || p.First != relay.DefaultPageSize {
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
