// Package relay implements the Relay conventions of SPEC §7.1: opaque global
// IDs, opaque keyset cursors, and the first/after and last/before page
// arguments.
package relay

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/uptrace/bun"

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

// Page is a validated set of connection arguments: first/after reads the
// list forward, last/before backward from its end or from the cursor.
type Page struct {
	// Size is how many rows the page holds at most: first, or last when
	// Backward.
	Size int
	// Backward is true for last (or a before cursor without first): the page
	// ends at the cursor, or at the end of the list.
	Backward bool
	// After and Before hold the decoded cursor values, nil when not given.
	After, Before []json.RawMessage
}

// DefaultPageSize and MaxPageSize bound "first" and "last" (SPEC §7.1).
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// Args are a connection field's arguments as the client gave them.
type Args struct {
	First  *int
	After  *string
	Last   *int
	Before *string
}

// NewPage validates forward connection arguments.
func NewPage(first *int, after *string) (Page, error) { return Args{First: first, After: after}.Page() }

// Page validates the arguments: first and last exclude each other and are
// 0 to MaxPageSize; either cursor must decode. Both cursors may be given:
// the page then lies between them.
func (a Args) Page() (Page, error) {
	p := Page{Size: DefaultPageSize}
	if a.First != nil && a.Last != nil {
		return p, domain.FieldErrorf(domain.CodeInvalid, "last", "give first or last, not both")
	}
	size, field := a.First, "first"
	if a.Last != nil || (a.First == nil && a.Before != nil) {
		size, field, p.Backward = a.Last, "last", true
	}
	if size != nil {
		if *size < 0 || *size > MaxPageSize {
			return p, domain.FieldErrorf(domain.CodeInvalid, field, "%s must be between 0 and %d", field, MaxPageSize)
		}
		p.Size = *size
	}
	var err error
	if a.After != nil {
		if p.After, err = decodeCursor("after", *a.After); err != nil {
			return p, err
		}
	}
	if a.Before != nil {
		if p.Before, err = decodeCursor("before", *a.Before); err != nil {
			return p, err
		}
	}
	return p, nil
}

// Cursor encodes the keyset values of a row in the named list as an opaque
// cursor; naming the list lets ScanAfter refuse another list's cursor.
func Cursor(list string, values ...any) string {
	b, _ := json.Marshal(append([]any{list}, values...))
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(field, c string) ([]json.RawMessage, error) {
	bad := domain.FieldErrorf(domain.CodeInvalid, field, "%q is not a valid cursor", clip(c))
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

// ScanAfter decodes the page's after cursor, which must be one of the named
// list's, into dst, one pointer per keyset value; it reports false when
// there is none.
func (p Page) ScanAfter(list string, dst ...any) (bool, error) {
	return scanCursor(p.After, "after", list, dst)
}

// ScanBefore is ScanAfter for the before cursor.
func (p Page) ScanBefore(list string, dst ...any) (bool, error) {
	return scanCursor(p.Before, "before", list, dst)
}

func scanCursor(values []json.RawMessage, field, list string, dst []any) (bool, error) {
	if values == nil {
		return false, nil
	}
	foreign := domain.FieldErrorf(domain.CodeInvalid, field, "the cursor is not one of this list's cursors (a cursor is valid only in the list and order that gave it)")
	var name string
	if len(values) != len(dst)+1 || json.Unmarshal(values[0], &name) != nil || name != list {
		return false, foreign
	}
	for i, v := range values[1:] {
		if err := json.Unmarshal(v, dst[i]); err != nil {
			return false, foreign
		}
	}
	return true, nil
}

// Keyset is the order of a list: the columns it sorts on, all in one
// direction, the last unique, so a row's values in them are its cursor.
type Keyset struct {
	// List names the list and its order; a cursor of another is refused.
	List string
	// Columns are SQL expressions, as in the ORDER BY.
	Columns []string
	// Desc sorts the list descending.
	Desc bool
}

// Seek adds to q the conditions that keep the rows after the page's after
// cursor and before its before cursor, as row-value comparisons an index on
// the columns answers with a range. key returns fresh pointers to scan one
// cursor's values into.
func (p Page) Seek(q *bun.SelectQuery, k Keyset, key func() []any) (*bun.SelectQuery, error) {
	cols := "(" + strings.Join(k.Columns, ", ") + ")"
	for _, c := range []struct {
		scan  func(string, ...any) (bool, error)
		later bool
	}{{p.ScanAfter, true}, {p.ScanBefore, false}} {
		dst := key()
		ok, err := c.scan(k.List, dst...)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		op := "<"
		if c.later != k.Desc {
			op = ">"
		}
		args := make([]any, len(dst))
		for i, d := range dst {
			args[i] = reflect.ValueOf(d).Elem().Interface()
		}
		q = q.Where(cols+" "+op+" ("+strings.TrimSuffix(strings.Repeat("?, ", len(dst)), ", ")+")", args...)
	}
	return q, nil
}

// OrderBy is the ORDER BY that reads the page: the list's order, or its
// reverse for a backward page (NewConnection turns those rows around).
func (p Page) OrderBy(k Keyset) string {
	dir := " ASC"
	if k.Desc != p.Backward {
		dir = " DESC"
	}
	return strings.Join(k.Columns, dir+", ") + dir
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

// NewConnection makes a page from rows fetched in the page's reading order
// (see OrderBy) with a limit of page.Size+1: the extra row only says that
// more follow in that direction. A backward page is turned around into the
// list's order.
func NewConnection[T any](page Page, rows []T, cursor func(T) string, count func(context.Context) (int, error)) *Connection[T] {
	c := &Connection[T]{Count: count}
	more := len(rows) > page.Size
	if more {
		rows = rows[:page.Size]
	}
	if page.Backward {
		slices.Reverse(rows)
		c.HasPrevious, c.HasNextPage = more, page.Before != nil
	} else {
		c.HasNextPage, c.HasPrevious = more, page.After != nil
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
func (p Page) Limit() int64 { return int64(p.Size + 1) }
