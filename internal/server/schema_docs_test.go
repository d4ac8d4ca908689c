package server_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/channelgraph/channelgraph/graph"
)

// builtInScalars are GraphQL's own, described by the specification.
var builtInScalars = map[string]bool{"String": true, "Int": true, "Float": true, "Boolean": true, "ID": true}

// outsideReferences would send a partner to a document it does not have:
// descriptions state the rule, or point to a file under docs/. "SPEC" is
// matched as written (so "specific" passes); the others in any case.
var outsideReferences = []struct {
	word       string
	ignoreCase bool
}{{"SPEC", false}, {"seed", true}, {"shared/", true}}

// docsLink is a description's pointer to a file under docs/, which must exist.
var docsLink = regexp.MustCompile(`docs/[A-Za-z0-9_./-]+\.md`)

func cites(description, word string, ignoreCase bool) bool {
	if ignoreCase {
		return strings.Contains(strings.ToLower(description), strings.ToLower(word))
	}
	return strings.Contains(description, word)
}

// schemaElement is one described (or undescribed) part of the schema.
type schemaElement struct {
	path, kind, description string
}

// schemaElements lists every type, field, argument, input field and enum
// value of the schema, less the introspection types and built-in scalars
// and directives.
func schemaElements(s *ast.Schema) []schemaElement {
	var out []schemaElement
	for name, def := range s.Types {
		if strings.HasPrefix(name, "__") || builtInScalars[name] {
			continue
		}
		out = append(out, schemaElement{name, "type", def.Description})
		for _, f := range def.Fields {
			if strings.HasPrefix(f.Name, "__") {
				continue
			}
			kind := "field"
			if def.Kind == ast.InputObject {
				kind = "input field"
			}
			out = append(out, schemaElement{name + "." + f.Name, kind, f.Description})
			for _, a := range f.Arguments {
				out = append(out, schemaElement{name + "." + f.Name + "(" + a.Name + ")", "argument", a.Description})
			}
		}
		for _, v := range def.EnumValues {
			out = append(out, schemaElement{name + "." + v.Name, "enum value", v.Description})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out
}

// TestSchemaDescribed: a partner's developer learns the API from
// introspection, so every element of the schema says what it is, and no
// description cites a document outside the repository.
func TestSchemaDescribed(t *testing.T) {
	elements := schemaElements(graph.NewExecutableSchema(graph.Config{}).Schema())
	var offenders []string
	described := map[string][2]int{}
	for _, e := range elements {
		n := described[e.kind]
		n[1]++
		switch {
		case strings.TrimSpace(e.description) == "":
			offenders = append(offenders, fmt.Sprintf("%s %s has no description", e.kind, e.path))
		default:
			n[0]++
			for _, ref := range outsideReferences {
				if cites(e.description, ref.word, ref.ignoreCase) {
					offenders = append(offenders, fmt.Sprintf("%s %s cites %q: state the rule, or point to a file under docs/", e.kind, e.path, ref.word))
				}
			}
		}
		for _, link := range docsLink.FindAllString(e.description, -1) {
			if _, err := os.Stat(filepath.Join("..", "..", link)); err != nil {
				offenders = append(offenders, fmt.Sprintf("%s %s points to %s, which does not exist", e.kind, e.path, link))
			}
		}
		described[e.kind] = n
	}
	t.Logf("described (of all): %v", described)
	if len(offenders) > 0 {
		t.Errorf("%d problems with the schema's descriptions (graph/schema/*.graphqls):\n%s", len(offenders), strings.Join(offenders, "\n"))
	}
}
