package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// AllowList is the set of operations a server runs in allow-list mode, by
// the SHA-256 of their text (the automatic-persisted-query hash).
type AllowList map[string]string

// LoadAllowList reads every *.graphql file of dir as one allowed operation
// document.
func LoadAllowList(dir string) (AllowList, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.graphql"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no *.graphql files in %s", dir)
	}
	list := AllowList{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		list.Add(string(b))
	}
	return list, nil
}

// Add allows query.
func (l AllowList) Add(query string) {
	sum := sha256.Sum256([]byte(query))
	l[hex.EncodeToString(sum[:])] = query
}

// allowListOnly refuses every operation not in the list; a client may send
// the text or, as with automatic persisted queries, only its hash.
type allowListOnly struct{ list AllowList }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
} = allowListOnly{}

func (allowListOnly) ExtensionName() string                          { return "AllowListOnly" }
func (allowListOnly) Validate(schema graphql.ExecutableSchema) error { return nil }

func (a allowListOnly) MutateOperationParameters(_ context.Context, p *graphql.RawParams) *gqlerror.Error {
	refused := limitError("this server runs only the operations of its allow-list; this one is not among them")
	if p.Query == "" {
		pq, _ := p.Extensions["persistedQuery"].(map[string]any)
		hash, _ := pq["sha256Hash"].(string)
		query, ok := a.list[hash]
		if !ok {
			return refused
		}
		p.Query = query
		return nil
	}
	sum := sha256.Sum256([]byte(p.Query))
	if _, ok := a.list[hex.EncodeToString(sum[:])]; !ok {
		return refused
	}
	return nil
}
