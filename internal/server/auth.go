package server

import (
	"net/http"
	"strings"

	"github.com/channelgraph/channelgraph/internal/auth"
	"github.com/channelgraph/channelgraph/internal/domain"
)

// authenticate puts the viewer of the request's bearer token in its context.
// A request without a token goes on with no viewer (only the public catalog
// answers it); a request with a bad token is refused outright, so a client
// never mistakes a typo'd token for an empty result.
func authenticate(a *auth.Service, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		header := r.Header.Get("Authorization")
		if header == "" {
			next.ServeHTTP(w, r)
			return
		}
		scheme, token, ok := strings.Cut(header, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			writeError(w, r, http.StatusUnauthorized, string(domain.CodeUnauthenticated), `the Authorization header must be "Bearer <token>"`)
			return
		}
		viewer, err := a.Authenticate(r.Context(), strings.TrimSpace(token))
		if err != nil {
			status, code := http.StatusUnauthorized, domain.ErrorCode(err)
			if code == domain.CodeInternal {
				status = http.StatusInternalServerError
			}
			writeError(w, r, status, string(code), publicMessage(err))
			return
		}
		next.ServeHTTP(w, r.WithContext(domain.WithViewer(r.Context(), viewer)))
	})
}
