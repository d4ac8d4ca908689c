package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/channelgraph/channelgraph/internal/domain"
)

// Media types of GraphQL over HTTP.
const (
	mediaJSON            = "application/json"
	mediaGraphQLResponse = "application/graphql-response+json"
)

// allowedMethods is what /graphql answers over plain HTTP (websockets aside).
const allowedMethods = "GET, POST, OPTIONS"

// httpTransport is the only gqlgen transport of plain HTTP requests, in
// place of gqlgen's GET, POST and Options: every request it refuses gets a
// JSON answer with extensions.code, and none repeats the request body. It
// follows the GraphQL-over-HTTP spec:
//
//   - a request that is not a GraphQL request (wrong method, media type or
//     parameters; a body that is not a JSON object) is answered 405, 415 or
//     400, whatever the Accept header;
//   - a GraphQL request that fails before execution (its document does not
//     parse or validate, no operation is chosen, a variable does not coerce,
//     a limit is crossed) is answered 200 to application/json clients and
//     400 to application/graphql-response+json ones, without "data";
//   - an executed operation is answered 200.
type httpTransport struct{}

var _ graphql.Transport = httpTransport{}

// Supports takes every request the websocket transport left: no request
// meets gqlgen's bare "transport not supported".
func (httpTransport) Supports(*http.Request) bool { return true }

func (httpTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	var (
		params *graphql.RawParams
		err    *gqlerror.Error
	)
	switch r.Method {
	case http.MethodOptions:
		w.Header().Set("Allow", allowedMethods)
		w.WriteHeader(http.StatusNoContent)
		return
	case http.MethodGet:
		params, err = getParams(r)
	case http.MethodPost:
		if !isJSON(r.Header.Get("Content-Type")) {
			writeError(w, r, http.StatusUnsupportedMediaType, string(domain.CodeInvalid),
				`a POST request's Content-Type must be application/json (the GraphQL request as a JSON object)`)
			return
		}
		params, err = postParams(r)
	default:
		w.Header().Set("Allow", allowedMethods)
		writeError(w, r, http.StatusMethodNotAllowed, string(domain.CodeInvalid),
			"/graphql answers GET (queries only), POST and OPTIONS, and websocket upgrades")
		return
	}
	if err != nil {
		writeError(w, r, http.StatusBadRequest, string(domain.CodeInvalid), err.Message)
		return
	}
	params.Headers = r.Header
	params.ReadTime.End = graphql.Now()

	ctx := r.Context()
	rc, errs := exec.CreateOperationContext(ctx, params)
	if errs != nil {
		nameOperationError(rc, params, errs)
		status := http.StatusOK
		if responseType(r) == mediaGraphQLResponse {
			status = http.StatusBadRequest
		}
		writeResponse(w, r, status, exec.DispatchError(graphql.WithOperationContext(ctx, rc), errs))
		return
	}
	if r.Method == http.MethodGet && rc.Operation.Operation != ast.Query {
		w.Header().Set("Allow", "POST")
		writeError(w, r, http.StatusMethodNotAllowed, string(domain.CodeInvalid),
			"a "+string(rc.Operation.Operation)+" must be sent with POST; GET runs queries only")
		return
	}
	responses, ctx := exec.DispatchOperation(ctx, rc)
	writeResponse(w, r, http.StatusOK, responses(ctx))
}

// isJSON reports whether contentType is application/json in UTF-8.
func isJSON(contentType string) bool {
	media, p, err := mime.ParseMediaType(contentType)
	if err != nil || media != mediaJSON {
		return false
	}
	charset, ok := p["charset"]
	return !ok || strings.EqualFold(charset, "utf-8")
}

// responseType is the media type of the answer: the first of the Accept
// header's types the server speaks, application/json when none is.
func responseType(r *http.Request) string {
	for part := range strings.SplitSeq(r.Header.Get("Accept"), ",") {
		media, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch media {
		case mediaGraphQLResponse:
			return mediaGraphQLResponse
		case mediaJSON, "application/*", "*/*":
			return mediaJSON
		}
	}
	return mediaJSON
}

// postParams reads a POST body: one JSON object with a string query (or a
// persisted query's hash in extensions), and operationName, variables and
// extensions each absent, null or of their type.
func postParams(r *http.Request) (*graphql.RawParams, *gqlerror.Error) {
	start := graphql.Now()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, gqlerror.Errorf("the request body could not be read")
	}
	var fields map[string]any
	if err := decodeJSON(body, &fields); err != nil {
		return nil, gqlerror.Errorf("the request body is not a JSON object: %s", jsonProblem(err))
	}
	if fields == nil {
		return nil, gqlerror.Errorf("the request body must be a JSON object with a query, not null")
	}
	p := &graphql.RawParams{ReadTime: graphql.TraceTiming{Start: start}}
	var ok bool
	if p.Query, ok = optional[string](fields["query"]); !ok {
		return nil, gqlerror.Errorf("query must be a string: the GraphQL document")
	}
	if p.OperationName, ok = optional[string](fields["operationName"]); !ok {
		return nil, gqlerror.Errorf("operationName must be a string or null")
	}
	if p.Variables, ok = optional[map[string]any](fields["variables"]); !ok {
		return nil, gqlerror.Errorf("variables must be a JSON object or null")
	}
	if p.Extensions, ok = optional[map[string]any](fields["extensions"]); !ok {
		return nil, gqlerror.Errorf("extensions must be a JSON object or null")
	}
	return p, needQuery(p)
}

// getParams reads a GET request's URL parameters, variables and extensions
// each a URL-encoded JSON object.
func getParams(r *http.Request) (*graphql.RawParams, *gqlerror.Error) {
	p := &graphql.RawParams{ReadTime: graphql.TraceTiming{Start: graphql.Now()}}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, gqlerror.Errorf("the URL's query string is malformed")
	}
	p.Query, p.OperationName = q.Get("query"), q.Get("operationName")
	for name, dst := range map[string]*map[string]any{"variables": &p.Variables, "extensions": &p.Extensions} {
		if s := q.Get(name); s != "" {
			if err := decodeJSON([]byte(s), dst); err != nil {
				return nil, gqlerror.Errorf("the %s parameter must be a URL-encoded JSON object: %s", name, jsonProblem(err))
			}
		}
	}
	return p, needQuery(p)
}

// needQuery refuses a request with neither a query nor a persisted query's
// hash.
func needQuery(p *graphql.RawParams) *gqlerror.Error {
	if p.Query == "" && p.Extensions["persistedQuery"] == nil {
		return gqlerror.Errorf("the request has no query: send the GraphQL document as the query parameter")
	}
	return nil
}

// optional is v as a T, or T's zero value when v is absent or null; ok is
// false when v is of another type.
func optional[T any](v any) (t T, ok bool) {
	if v == nil {
		return t, true
	}
	t, ok = v.(T)
	return t, ok
}

// decodeJSON decodes exactly one JSON value of data into dst, numbers as
// json.Number (as gqlgen does, so large integers survive).
func decodeJSON(data []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(dst); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errTrailing
	}
	return nil
}

var errTrailing = errors.New("more follows the first JSON value")

// jsonProblem describes a decoding error without quoting the input: the
// encoding/json messages quote the offending character or value.
func jsonProblem(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return "invalid JSON at byte " + itoa(syntax.Offset)
	case errors.As(err, &typ):
		return "it is a JSON " + typ.Value
	case errors.Is(err, io.EOF):
		return "it is empty"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "it ends in the middle of a value"
	case errors.Is(err, errTrailing):
		return err.Error()
	default:
		return "invalid JSON"
	}
}

// nameOperationError replaces gqlgen's "operation X not found" (and "no
// operation provided") with what the client must change.
func nameOperationError(rc *graphql.OperationContext, p *graphql.RawParams, errs gqlerror.List) {
	if rc == nil || rc.Doc == nil || rc.Operation != nil || len(errs) != 1 {
		return
	}
	ops := rc.Doc.Operations
	names := make([]string, 0, len(ops))
	for _, op := range ops {
		if op.Name != "" {
			names = append(names, op.Name)
		}
	}
	switch {
	case len(ops) == 0:
		errs[0].Message = "the document has no operation to run"
	case p.OperationName == "":
		errs[0].Message = "the document has " + itoa(int64(len(ops))) + " operations: choose the one to run with operationName"
	case len(names) == 0:
		errs[0].Message = "operationName names no operation of the document, whose operations are unnamed"
	default:
		errs[0].Message = "operationName names no operation of the document; its named operations are " + strings.Join(names, ", ")
	}
}

// writeResponse writes a GraphQL response in the media type the client
// accepts. A response without data (a request error) has no "data" entry.
func writeResponse(w http.ResponseWriter, r *http.Request, status int, resp *graphql.Response) {
	w.Header().Set("Content-Type", responseType(r))
	w.WriteHeader(status)
	if resp.Data == nil {
		_ = json.NewEncoder(w).Encode(struct {
			Errors     gqlerror.List  `json:"errors"`
			Extensions map[string]any `json:"extensions,omitempty"`
		}{resp.Errors, resp.Extensions})
		return
	}
	_ = json.NewEncoder(w).Encode(resp)
}
