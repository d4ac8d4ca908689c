package relay

// Type names of carts and quotes (SPEC §8.4).
const (
	TypeCart     = "Cart"
	TypeCartLine = "CartLine"
	TypeQuote    = "Quote"
)
