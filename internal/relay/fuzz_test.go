package relay_test

import (
	"testing"

	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/relay"
)

// FuzzParseGlobalID: any string decodes to a valid ID or a BAD_USER_INPUT
// error, and a valid one round-trips.
func FuzzParseGlobalID(f *testing.F) {
	for _, s := range []string{"", "T3JnYW5pemF0aW9uOjE", relay.GlobalID(relay.TypePurchaseOrder, 42), "%%%", "Og", "T3JnOi0x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		typ, id, err := relay.ParseGlobalID(s)
		if err != nil {
			if domain.ErrorCode(err) != domain.CodeInvalid {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		if id <= 0 || typ == "" {
			t.Fatalf("%q decoded to %q %d", s, typ, id)
		}
		if _, id2, err := relay.ParseGlobalID(relay.GlobalID(typ, id)); err != nil || id2 != id {
			t.Fatalf("%q does not round-trip", s)
		}
	})
}

// FuzzCursor: any string is a valid page argument or a BAD_USER_INPUT
// error, and decoding never panics.
func FuzzCursor(f *testing.F) {
	for _, s := range []string{"", "W10", "bnVsbA", relay.Cursor("purchaseOrders", "2026-11-22T10:00:00Z", 7), "WyJ4Il0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		page, err := relay.NewPage(nil, &s)
		if err != nil {
			if domain.ErrorCode(err) != domain.CodeInvalid {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		var name string
		var id int64
		if _, err := page.ScanAfter("organizations", &name, &id); err != nil && domain.ErrorCode(err) != domain.CodeInvalid {
			t.Fatalf("%q: %v", s, err)
		}
	})
}
