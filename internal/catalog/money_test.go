package catalog_test

import (
	"errors"
	"testing"

	"github.com/channelgraph/channelgraph/internal/catalog"
	"github.com/channelgraph/channelgraph/internal/domain"
)

// TestNormalizeMoney: amounts read back with at least cents and no float
// rounding; anything but a plain decimal and an ISO 4217 code is refused on
// the field at fault.
func TestNormalizeMoney(t *testing.T) {
	for in, want := range map[string]string{"40": "40.00", "1.125": "1.125", "0.5": "0.50", "10.9899": "10.9899"} {
		got, err := catalog.NormalizeMoney("price", domain.Money{Amount: in, Currency: "EUR"})
		if err != nil || got.Amount != want || got.Currency != "EUR" {
			t.Errorf("NormalizeMoney(%q) = %+v, %v; want %s EUR", in, got, err, want)
		}
	}
	for _, c := range []struct{ amount, currency, field string }{
		{"1e400", "EUR", "price.amount"},
		{"-1", "EUR", "price.amount"},
		{"1.23456", "EUR", "price.amount"},
		{"1,00", "EUR", "price.amount"},
		{"", "EUR", "price.amount"},
		{"1.00", "eur", "price.currency"},
		{"1.00", "EURO", "price.currency"},
	} {
		_, err := catalog.NormalizeMoney("price", domain.Money{Amount: c.amount, Currency: c.currency})
		var e *domain.Error
		if !errors.As(err, &e) || e.Code != domain.CodeInvalid || e.Field != c.field {
			t.Errorf("NormalizeMoney(%q, %q): %v, want BAD_USER_INPUT on %s", c.amount, c.currency, err, c.field)
		}
	}
}
