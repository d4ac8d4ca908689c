// Package relay implements the Relay conventions of SPEC §7.1: opaque global
// IDs, opaque keyset cursors, and the first/after page arguments.
package relay

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/channelgraph/channelgraph/internal/domain"
)

// Type names that prefix global IDs; they are the GraphQL type names.
const (
	TypeOrganization  = "Organization"
	TypeChannelEdge   = "ChannelEdge"
	TypeProduct       = "Product"
	TypePurchaseOrder = "PurchaseOrder"
	TypeAPIToken      = "ApiToken"
	TypeTenant        = "Tenant"
)

// GlobalID encodes a row id of a type as an opaque global ID.
func GlobalID(typeName string, id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(typeName + ":" + strconv.FormatInt(id, 10)))
}

// ParseGlobalID decodes any global ID into its type name and row id.
func ParseGlobalID(gid string) (string, int64, error) {
	raw, err := base64.RawURLEncoding.DecodeString(gid)
	if err != nil || len(gid) > 100 {
		return "", 0, domain.Errorf(domain.CodeInvalid, "%q is not a valid ID", clip(gid))
	}
	typeName, num, ok := strings.Cut(string(raw), ":")
	id, err := strconv.ParseInt(num, 10, 64)
	if !ok || err != nil || id <= 0 || typeName == "" {
		return "", 0, domain.Errorf(domain.CodeInvalid, "%q is not a valid ID", clip(gid))
	}
	return typeName, id, nil
}

// ParseID decodes a global ID that must be of typeName. field names the
// input field in the error.
func ParseID(field, typeName, gid string) (int64, error) {
	t, id, err := ParseGlobalID(gid)
	if err != nil {
		return 0, domain.FieldErrorf(domain.CodeInvalid, field, "%q is not a valid ID", clip(gid))
	}
	if t != typeName {
		return 0, domain.FieldErrorf(domain.CodeInvalid, field, "expected the ID of a %s", typeName)
	}
	return id, nil
}

// ParseOptionalID is ParseID for a nullable argument.
func ParseOptionalID(field, typeName string, gid *string) (*int64, error) {
	if gid == nil {
		return nil, nil
	}
	id, err := ParseID(field, typeName, *gid)
	if err != nil {
		return nil, err
	}
	return &id, nil
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// Page is a validated first/after pair.
type Page struct {
	First int
	// After holds the decoded cursor values, nil for the first page.
	After []json.RawMessage
}

// DefaultPageSize and MaxPageSize bound "first" (SPEC §7.1).
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// NewPage validates the connection arguments.
func NewPage(first *int, after *string) (Page, error) {
	p := Page{First: DefaultPageSize}
	if first != nil {
		if *first < 0 || *first > MaxPageSize {
			return p, domain.FieldErrorf(domain.CodeInvalid, "first", "first must be between 0 and %d", MaxPageSize)
		}
		p.First = *first
	}
	if after != nil {
		values, err := decodeCursor(*after)
		if err != nil {
			return p, err
		}
		p.After = values
	}
	return p, nil
}

// Cursor encodes the keyset values of a row in the named list as an opaque
// cursor; naming the list lets ScanAfter refuse another list's cursor.
func Cursor(list string, values ...any) string {
	b, _ := json.Marshal(append([]any{list}, values...))
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(c string) ([]json.RawMessage, error) {
	bad := domain.FieldErrorf(domain.CodeInvalid, "after", "%q is not a valid cursor", clip(c))
	if len(c) > 500 {
		return nil, bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return nil, bad
	}
	var values []json.RawMessage
	if err := json.Unmarshal(raw, &values); err != nil || len(values) == 0 {
		return nil, bad
	}
	return values, nil
}

// ScanAfter decodes the page's cursor, which must be one of the named
// list's, into dst, one pointer per keyset value; it reports false for the
// first page.
func (p Page) ScanAfter(list string, dst ...any) (bool, error) {
	if p.After == nil {
		return false, nil
	}
	foreign := domain.FieldErrorf(domain.CodeInvalid, "after", "the cursor is not one of this list's cursors")
	var name string
	if len(p.After) != len(dst)+1 || json.Unmarshal(p.After[0], &name) != nil || name != list {
		return false, foreign
	}
	for i, v := range p.After[1:] {
		if err := json.Unmarshal(v, dst[i]); err != nil {
			return false, foreign
		}
	}
	return true, nil
}

// Connection is one page of a list: the nodes, their cursors, whether more
// follow, and a way to count the whole list only when a client asks.
type Connection[T any] struct {
	Nodes       []T
	Cursors     []string
	HasNextPage bool
	HasPrevious bool
	Count       func(ctx context.Context) (int, error)
}

// NewConnection makes a page from rows fetched with a limit of page.First+1:
// the extra row only says that more follow.
func NewConnection[T any](page Page, rows []T, cursor func(T) string, count func(context.Context) (int, error)) *Connection[T] {
	c := &Connection[T]{HasPrevious: page.After != nil, Count: count}
	if len(rows) > page.First {
		rows, c.HasNextPage = rows[:page.First], true
	}
	c.Nodes = rows
	c.Cursors = make([]string, len(rows))
	for i, r := range rows {
		c.Cursors[i] = cursor(r)
	}
	return c
}

// Limit is the row limit of a page's query: one more than the page, to tell
// whether another page follows.
func (p Page) Limit() int64 { return int64(p.First + 1) }
