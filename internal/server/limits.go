package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/channelgraph/channelgraph/internal/domain"
)

// Limits bound what one operation may ask for. They are checked after the
// operation is parsed and validated and before any resolver runs, on HTTP
// and on websocket subscribe messages alike; a rejected operation is told
// which limit it crossed.
type Limits struct {
	// MaxDepth bounds how deeply fields nest.
	MaxDepth int
	// MaxAliases bounds how many fields are aliased.
	MaxAliases int
	// MaxComplexity bounds the operation's cost: every field costs 1 plus its
	// children, lists multiply their children by the page size they ask for
	// (graph.Complexity).
	MaxComplexity int
}

// DefaultLimits admit every query the README shows, and a distributor's
// resellers with their customers (depth 11), with room to spare.
var DefaultLimits = Limits{MaxDepth: 15, MaxAliases: 30, MaxComplexity: 10_000}

func (l Limits) withDefaults() Limits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultLimits.MaxDepth
	}
	if l.MaxAliases <= 0 {
		l.MaxAliases = DefaultLimits.MaxAliases
	}
	if l.MaxComplexity <= 0 {
		l.MaxComplexity = DefaultLimits.MaxComplexity
	}
	return l
}

// shapeLimit is the gqlgen extension enforcing MaxDepth and MaxAliases.
type shapeLimit struct{ Limits }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = shapeLimit{}

func (shapeLimit) ExtensionName() string                          { return "ShapeLimit" }
func (shapeLimit) Validate(schema graphql.ExecutableSchema) error { return nil }

// maxWalk bounds the fields the walk visits: fragments spread into each
// other many times could otherwise make the check itself expensive.
const maxWalk = 10_000

func (l shapeLimit) MutateOperationContext(_ context.Context, rc *graphql.OperationContext) *gqlerror.Error {
	w := walk{doc: rc.Doc}
	w.selections(rc.Operation.SelectionSet, 1)
	switch {
	case w.visited > maxWalk:
		return limitError("the operation selects more than %d fields once fragments are expanded", maxWalk)
	case w.depth > l.MaxDepth:
		return limitError("the operation nests %d fields deep; the limit is %d", w.depth, l.MaxDepth)
	case w.aliases > l.MaxAliases:
		return limitError("the operation uses %d aliases; the limit is %d", w.aliases, l.MaxAliases)
	}
	return nil
}

type walk struct {
	doc                     *ast.QueryDocument
	depth, aliases, visited int
}

func (w *walk) selections(set ast.SelectionSet, depth int) {
	for _, sel := range set {
		if w.visited > maxWalk {
			return
		}
		switch s := sel.(type) {
		case *ast.Field:
			w.visited++
			w.depth = max(w.depth, depth)
			if s.Alias != "" && s.Alias != s.Name {
				w.aliases++
			}
			w.selections(s.SelectionSet, depth+1)
		case *ast.InlineFragment:
			w.selections(s.SelectionSet, depth)
		case *ast.FragmentSpread:
			if f := w.doc.Fragments.ForName(s.Name); f != nil {
				w.selections(f.SelectionSet, depth)
			}
		}
	}
}

func limitError(format string, args ...any) *gqlerror.Error {
	return &gqlerror.Error{Message: fmt.Sprintf(format, args...),
		Extensions: map[string]any{"code": string(domain.CodeInvalid), "limit": true}}
}

// timeLimit bounds a query's or mutation's execution: its resolvers, and so
// their SQL, stop at the deadline, and markInternalErrors says why. It is
// applied to the execution rather than the HTTP request so the response is
// still written (gqlgen writes nothing for a request already expired).
type timeLimit struct{ d time.Duration }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationInterceptor
} = timeLimit{}

func (timeLimit) ExtensionName() string                          { return "TimeLimit" }
func (timeLimit) Validate(schema graphql.ExecutableSchema) error { return nil }

func (l timeLimit) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	if rc := graphql.GetOperationContext(ctx); rc.Operation == nil || rc.Operation.Operation == ast.Subscription {
		return next(ctx)
	}
	ctx, cancel := context.WithTimeout(ctx, l.d)
	respond := next(ctx)
	return func(ctx context.Context) *graphql.Response {
		defer cancel()
		if errors.Is(ctx.Err(), context.DeadlineExceeded) { // spent before execution began: gqlgen would answer nothing
			return &graphql.Response{Errors: gqlerror.List{limitError("%s", timeLimitMessage)}}
		}
		return respond(ctx)
	}
}

const timeLimitMessage = "the operation ran longer than the server's time limit for one request; ask for less (smaller pages, fewer fields)"
