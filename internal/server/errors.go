package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/channelgraph/channelgraph/internal/domain"
)

// internalError marks an error a resolver returned that is not a domain
// error: a fault of ours, logged in full and shown to clients only as
// INTERNAL.
type internalError struct{ err error }

func (e internalError) Error() string { return e.err.Error() }
func (e internalError) Unwrap() error { return e.err }

// markInternalErrors tells resolver faults apart from the input errors gqlgen
// raises itself (bad enum values, unparsable scalars), which are the client's.
func markInternalErrors(ctx context.Context, next graphql.Resolver) (any, error) {
	res, err := next(ctx)
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return res, domain.Errorf(domain.CodeInternal, "%s", timeLimitMessage)
	}
	if err != nil {
		var de *domain.Error
		var ge *gqlerror.Error
		var gl gqlerror.List
		if !errors.As(err, &de) && !errors.As(err, &ge) && !errors.As(err, &gl) {
			err = internalError{err}
		}
	}
	return res, err
}

// errorPresenter gives every error an extensions.code (SPEC §7.1) and never
// shows an internal error's text.
func errorPresenter(log *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		gqlErr := graphql.DefaultErrorPresenter(ctx, err)
		var de *domain.Error
		var ie internalError
		switch {
		case errors.As(err, &de):
			gqlErr.Message = de.Message
			setCode(gqlErr, string(de.Code))
			if de.Field != "" {
				gqlErr.Extensions["field"] = de.Field
			}
		case errors.As(err, &ie):
			log.ErrorContext(ctx, "resolver failed", "path", gqlErr.Path.String(), "error", ie.err)
			gqlErr.Message = "internal error"
			setCode(gqlErr, string(domain.CodeInternal))
		default:
			// gqlgen's own parse, validation and input-coercion errors.
			setCode(gqlErr, string(domain.CodeInvalid))
		}
		return gqlErr
	}
}

func setCode(e *gqlerror.Error, code string) {
	if e.Extensions == nil {
		e.Extensions = map[string]any{}
	}
	e.Extensions["code"] = code
}

func recoverFunc(log *slog.Logger) graphql.RecoverFunc {
	return func(ctx context.Context, p any) error {
		log.ErrorContext(ctx, "panic while resolving", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		return &domain.Error{Code: domain.CodeInternal, Message: "internal error"}
	}
}

// publicMessage is what a client may read of err.
func publicMessage(err error) string {
	var de *domain.Error
	if errors.As(err, &de) && de.Code != domain.CodeInternal {
		return de.Message
	}
	return "internal error"
}

// writeError answers a request refused before GraphQL ran, in the GraphQL
// response shape (no "data") and the media type the client accepts. message
// must never quote the request body.
func writeError(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	writeResponse(w, r, status, &graphql.Response{Errors: gqlerror.List{{Message: message, Extensions: map[string]any{"code": code}}}})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
