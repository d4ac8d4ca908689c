package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/channelgraph/channelgraph/internal/testapi"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

// marker is put in each refused request; no answer may repeat it.
const marker = "MARKER-5b1e-never-echoed"

// TestHTTPFailures: every request refused at the HTTP layer, or failing
// before its operation runs, is answered in JSON (the media type the client
// accepts) with extensions.code, the status the GraphQL-over-HTTP spec asks
// for, no "data" entry and nothing of the request body.
func TestHTTPFailures(t *testing.T) {
	a := newAPI(t, testdb.MustOpen(t, "sqlite"))
	const (
		jsonType = "application/json"
		gqlType  = "application/graphql-response+json"
	)
	get := func(params ...string) string {
		v := url.Values{}
		for i := 0; i+1 < len(params); i += 2 {
			v.Set(params[i], params[i+1])
		}
		return "?" + v.Encode()
	}
	for _, tc := range []struct {
		name                        string
		method, query               string // query: the URL's query string
		contentType, accept, body   string
		status                      int
		responseType, allow, saying string // saying: a part of the first message
	}{
		{name: "no Content-Type", method: "POST", body: `{"query": "{ __typename }", "x": "` + marker + `"}`,
			status: 415, responseType: jsonType, saying: "Content-Type must be application/json"},
		{name: "text/plain", method: "POST", contentType: "text/plain", accept: gqlType, body: marker,
			status: 415, responseType: gqlType, saying: "Content-Type"},
		{name: "a charset other than UTF-8", method: "POST", contentType: "application/json; charset=latin1", body: `{"query": "{ __typename }", "x": "` + marker + `"}`,
			status: 415, responseType: jsonType, saying: "Content-Type"},
		{name: "PUT", method: "PUT", contentType: jsonType, body: `{"query": "{ __typename }", "x": "` + marker + `"}`,
			status: 405, responseType: jsonType, allow: "GET, POST, OPTIONS", saying: "GET (queries only), POST"},
		{name: "DELETE", method: "DELETE", accept: gqlType,
			status: 405, responseType: gqlType, allow: "GET, POST, OPTIONS", saying: "POST"},
		{name: "a mutation over GET", method: "GET", query: get("query", "mutation M { __typename }", "variables", `{"x": "`+marker+`"}`),
			status: 405, responseType: jsonType, allow: "POST", saying: "a mutation must be sent with POST"},
		{name: "not JSON", method: "POST", contentType: jsonType, body: marker,
			status: 400, responseType: jsonType, saying: "not a JSON object: invalid JSON at byte 1"},
		{name: "truncated JSON", method: "POST", contentType: jsonType, accept: gqlType, body: `{"query": "{ __typename }", "x": "` + marker,
			status: 400, responseType: gqlType, saying: "not a JSON object"},
		{name: "JSON and more", method: "POST", contentType: jsonType, body: `{"query": "{ __typename }"} ` + marker,
			status: 400, responseType: jsonType, saying: "more follows the first JSON value"},
		{name: "a JSON string", method: "POST", contentType: jsonType, body: `"` + marker + `"`,
			status: 400, responseType: jsonType, saying: "it is a JSON string"},
		{name: "an empty body", method: "POST", contentType: jsonType,
			status: 400, responseType: jsonType, saying: "it is empty"},
		{name: "no query", method: "POST", contentType: jsonType, accept: gqlType, body: `{"qeury": "` + marker + `"}`,
			status: 400, responseType: gqlType, saying: "the request has no query"},
		{name: "a query not a string", method: "POST", contentType: jsonType, body: `{"query": {"q": "` + marker + `"}}`,
			status: 400, responseType: jsonType, saying: "query must be a string"},
		{name: "variables not an object", method: "POST", contentType: jsonType, body: `{"query": "{ __typename }", "variables": "` + marker + `"}`,
			status: 400, responseType: jsonType, saying: "variables must be a JSON object"},
		{name: "variables not JSON over GET", method: "GET", query: get("query", "{ __typename }", "variables", marker),
			status: 400, responseType: jsonType, saying: "the variables parameter must be a URL-encoded JSON object"},
		{name: "batched", method: "POST", contentType: jsonType, accept: gqlType, body: `[{"query": "{ __typename }", "x": "` + marker + `"}]`,
			status: 400, responseType: gqlType, saying: "batched requests are not supported"},
		{name: "a malformed Authorization header", method: "POST", contentType: jsonType, body: `{"query": "{ __typename }"}`,
			status: 401, responseType: jsonType, saying: "Authorization"},
		{name: "two operations, no operationName", method: "POST", contentType: jsonType, body: `{"query": "{ a: __typename } { b: __typename }", "variables": {"x": "` + marker + `"}}`,
			status: 200, responseType: jsonType, saying: "This anonymous operation must be the only defined operation"},
		{name: "two named operations, no operationName", method: "POST", contentType: jsonType, accept: gqlType, body: `{"query": "query A { __typename } query B { __typename }"}`,
			status: 400, responseType: gqlType, saying: "choose the one to run with operationName"},
		{name: "an unknown operationName", method: "POST", contentType: jsonType, body: `{"query": "query A { __typename } query B { __typename }", "operationName": "` + marker + `"}`,
			status: 200, responseType: jsonType, saying: "operationName names no operation of the document; its named operations are A, B"},
		{name: "a parse failure", method: "POST", contentType: jsonType, accept: gqlType, body: `{"query": "{", "variables": {"x": "` + marker + `"}}`,
			status: 400, responseType: gqlType, saying: "Expected Name"},
		{name: "a parse failure, application/json", method: "POST", contentType: jsonType, accept: jsonType, body: `{"query": "{", "variables": {"x": "` + marker + `"}}`,
			status: 200, responseType: jsonType, saying: "Expected Name"},
		{name: "a variable that does not coerce", method: "POST", contentType: jsonType, accept: gqlType, body: `{"query": "query($f: Boolean!) { __typename @include(if: $f) }", "variables": {"f": "` + marker + `"}}`,
			status: 400, responseType: gqlType, saying: "Boolean"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, a.URL+tc.query, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			if tc.accept != "" {
				req.Header.Set("Accept", tc.accept)
			}
			if tc.status == 401 {
				req.Header.Set("Authorization", "Basic "+marker)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(res.Body)
			res.Body.Close()
			var body struct {
				Data   *json.RawMessage   `json:"data"`
				Errors []testapi.GQLError `json:"errors"`
			}
			if err := json.Unmarshal(raw, &body); err != nil || len(body.Errors) == 0 {
				t.Fatalf("%d, not a GraphQL error response (%v): %s", res.StatusCode, err, raw)
			}
			if strings.Contains(string(raw), marker) {
				t.Errorf("the answer repeats the request: %s", raw)
			}
			if res.StatusCode != tc.status {
				t.Errorf("status %d, want %d: %s", res.StatusCode, tc.status, raw)
			}
			if got := res.Header.Get("Content-Type"); got != tc.responseType {
				t.Errorf("Content-Type %q, want %q", got, tc.responseType)
			}
			if got := res.Header.Get("Allow"); got != tc.allow {
				t.Errorf("Allow %q, want %q", got, tc.allow)
			}
			if strings.Contains(string(raw), `"data"`) {
				t.Errorf("a request error has a data entry: %s", raw)
			}
			e := body.Errors[0]
			want := "BAD_USER_INPUT"
			if tc.status == 401 {
				want = "UNAUTHENTICATED"
			}
			if e.Extensions["code"] != want || !strings.Contains(e.Message, tc.saying) {
				t.Errorf("first error %q %v, want %s saying %q", e.Message, e.Extensions, want, tc.saying)
			}
		})
	}
}

// TestHTTPOptions: OPTIONS says which methods /graphql answers.
func TestHTTPOptions(t *testing.T) {
	a := newAPI(t, testdb.MustOpen(t, "sqlite"))
	req, _ := http.NewRequest(http.MethodOptions, a.URL, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent || res.Header.Get("Allow") != "GET, POST, OPTIONS" {
		t.Fatalf("OPTIONS: %d, Allow %q", res.StatusCode, res.Header.Get("Allow"))
	}
}
