// Command generate runs gqlgen on gqlgen.yml (`make generate`), resolving
// the fields of every object type in sequence rather than one goroutine per
// field.
//
// gqlgen runs each resolver field in a goroutine of its own, which pays off
// only when resolvers block independently. Ours do not: a list primes the
// loaders its rows will ask (see internal/loaders), so a row's resolvers
// return at once, and a page of 50 orders would otherwise start and grow
// the stacks of a hundred goroutines to do nothing in parallel. Elements of
// a list are still resolved concurrently (gqlgen does that whatever the
// type), so loaders that are not primed still batch across a list.
package main

import (
	"fmt"
	"os"

	"github.com/99designs/gqlgen/api"
	"github.com/99designs/gqlgen/codegen"
	"github.com/99designs/gqlgen/codegen/config"
)

func main() {
	cfg, err := config.LoadConfigFromDefaultLocations()
	if err != nil {
		fmt.Fprintln(os.Stderr, "generate: loading gqlgen.yml:", err)
		os.Exit(2)
	}
	if err := api.Generate(cfg, api.AddPlugin(sequentialFields{})); err != nil {
		fmt.Fprintln(os.Stderr, "generate:", err)
		os.Exit(3)
	}
}

// sequentialFields turns off per-field concurrency for every object type
// except the roots (Query's fields stay concurrent, as gqlgen has them;
// Mutation's are sequential already, as GraphQL requires).
type sequentialFields struct{}

func (sequentialFields) Name() string { return "sequentialfields" }

func (sequentialFields) GenerateCode(data *codegen.Data) error {
	for _, o := range data.Objects {
		if !o.Root {
			o.DisableConcurrency = true
		}
	}
	return nil
}
