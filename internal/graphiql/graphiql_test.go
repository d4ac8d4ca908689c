package graphiql_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/channelgraph/channelgraph/internal/graphiql"
)

var (
	assetRefRE  = regexp.MustCompile(`(?:src|href)="([^"]+)"`)
	configRE    = regexp.MustCompile(`(?s)<script id="graphiql-config" type="application/json">(.*?)</script>`)
	titleRE     = regexp.MustCompile(`<title>(.*?)</title>`)
	scriptTagRE = regexp.MustCompile(`<script\b[^>]*>`)
)

// client never adds Accept-Encoding on its own, so responses are what a
// client without gzip support gets, and gzip can be tested explicitly.
var client = &http.Client{Transport: &http.Transport{DisableCompression: true}}

func get(t *testing.T, method, u string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// pageAssets returns the absolute URLs of the assets referenced by the page.
func pageAssets(t *testing.T, pageURL string, page []byte) []string {
	t.Helper()
	base, err := url.Parse(pageURL)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range assetRefRE.FindAllSubmatch(page, -1) {
		ref := html.UnescapeString(string(m[1]))
		if strings.HasPrefix(ref, "data:") {
			continue
		}
		u, err := base.Parse(ref)
		if err != nil {
			t.Fatalf("bad asset reference %q: %v", ref, err)
		}
		if u.Host != base.Host {
			t.Errorf("page references a non-local asset %q", u)
		}
		out = append(out, u.String())
	}
	return out
}

func TestPageAndAssets(t *testing.T) {
	srv := httptest.NewServer(graphiql.Handler("ChannelGraph API", "/graphql"))
	defer srv.Close()

	resp, page := get(t, http.MethodGet, srv.URL+"/", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /: status %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("GET /: Content-Type %q", ct)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("GET /: Cache-Control %q", cc)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self';") {
		t.Errorf("GET /: Content-Security-Policy %q", csp)
	}
	if m := titleRE.FindSubmatch(page); m == nil || string(m[1]) != "ChannelGraph API" {
		t.Errorf("page title: %q", m)
	}
	// Every <script> is either an external (same-origin) script or the JSON
	// data block: nothing inline to execute, as the CSP requires.
	for _, tag := range scriptTagRE.FindAll(page, -1) {
		if !bytes.Contains(tag, []byte(` src="`)) && !bytes.Contains(tag, []byte(`type="application/json"`)) {
			t.Errorf("inline script tag %s", tag)
		}
	}

	assets := pageAssets(t, srv.URL+"/", page)
	want := map[string]string{ // file name prefix -> Content-Type
		"react-" + graphiql.ReactVersion + ".production.min.js":     "text/javascript; charset=utf-8",
		"react-dom-" + graphiql.ReactVersion + ".production.min.js": "text/javascript; charset=utf-8",
		"graphiql-" + graphiql.GraphiQLVersion + ".min.js":          "text/javascript; charset=utf-8",
		"graphiql-" + graphiql.GraphiQLVersion + ".min.css":         "text/css; charset=utf-8",
		"graphiql-init.": "text/javascript; charset=utf-8",
	}
	if len(assets) != len(want) {
		t.Errorf("page references %d assets, want %d: %q", len(assets), len(want), assets)
	}
	for _, u := range assets {
		pu, _ := url.Parse(u)
		if !strings.HasPrefix(pu.Path, graphiql.AssetPrefix) {
			t.Errorf("asset %s not under %s", u, graphiql.AssetPrefix)
		}
		name := path.Base(pu.Path)
		var wantCT string
		for prefix, ct := range want {
			if strings.HasPrefix(name, prefix) {
				wantCT = ct
			}
		}
		if wantCT == "" {
			t.Errorf("unexpected asset %s", u)
			continue
		}

		resp, body := get(t, http.MethodGet, u, nil)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: status %d", u, resp.StatusCode)
			continue
		}
		if ct := resp.Header.Get("Content-Type"); ct != wantCT {
			t.Errorf("GET %s: Content-Type %q, want %q", u, ct, wantCT)
		}
		if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age=31536000") || !strings.Contains(cc, "immutable") {
			t.Errorf("GET %s: Cache-Control %q", u, cc)
		}
		if ce := resp.Header.Get("Content-Encoding"); ce != "" {
			t.Errorf("GET %s without Accept-Encoding: Content-Encoding %q", u, ce)
		}
		plainETag := resp.Header.Get("ETag")
		if plainETag == "" {
			t.Errorf("GET %s: no ETag", u)
		}
		if len(body) == 0 || resp.ContentLength != int64(len(body)) {
			t.Errorf("GET %s: %d bytes, Content-Length %d", u, len(body), resp.ContentLength)
		}

		// The served bytes are the vendored files (the bootstrap script is
		// served under a content-hashed name).
		file := name
		if strings.HasPrefix(name, "graphiql-init.") {
			file = "graphiql-init.js"
		}
		disk, err := os.ReadFile("assets/" + file)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(body, disk) {
			t.Errorf("GET %s: body differs from assets/%s", u, file)
		}

		// gzip variant.
		resp, gz := get(t, http.MethodGet, u, map[string]string{"Accept-Encoding": "br, gzip;q=0.8"})
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s (gzip): status %d", u, resp.StatusCode)
		} else if resp.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(gz))
			if err != nil {
				t.Fatalf("GET %s (gzip): %v", u, err)
			}
			plain, err := io.ReadAll(zr)
			if err != nil || !bytes.Equal(plain, disk) {
				t.Errorf("GET %s (gzip): decoded body differs (err %v)", u, err)
			}
			if resp.ContentLength != int64(len(gz)) {
				t.Errorf("GET %s (gzip): Content-Length %d for %d bytes", u, resp.ContentLength, len(gz))
			}
			if e := resp.Header.Get("ETag"); e == "" || e == plainETag {
				t.Errorf("GET %s (gzip): ETag %q must differ from the identity ETag %q", u, e, plainETag)
			}
		} else if strings.HasSuffix(name, ".js") && len(disk) > 100000 {
			t.Errorf("GET %s (gzip): large script not compressed", u)
		}
		if v := resp.Header.Get("Vary"); v != "Accept-Encoding" {
			t.Errorf("GET %s: Vary %q", u, v)
		}

		// Range request on the gzip variant.
		resp, part := get(t, http.MethodGet, u, map[string]string{"Accept-Encoding": "gzip", "Range": "bytes=0-9"})
		if resp.StatusCode != http.StatusPartialContent || len(part) != 10 || resp.ContentLength != 10 {
			t.Errorf("GET %s Range: status %d, %d bytes, Content-Length %d", u, resp.StatusCode, len(part), resp.ContentLength)
		}

		// Conditional request.
		etag := resp.Header.Get("ETag")
		resp, _ = get(t, http.MethodGet, u, map[string]string{"Accept-Encoding": "gzip", "If-None-Match": etag})
		if resp.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s If-None-Match %s: status %d", u, etag, resp.StatusCode)
		}

		// HEAD
		resp, body = get(t, http.MethodHead, u, nil)
		if resp.StatusCode != http.StatusOK || len(body) != 0 || resp.ContentLength != int64(len(disk)) {
			t.Errorf("HEAD %s: status %d, %d body bytes, Content-Length %d", u, resp.StatusCode, len(body), resp.ContentLength)
		}

		// Other methods.
		resp, _ = get(t, http.MethodPost, u, nil)
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("POST %s: status %d, Allow %q", u, resp.StatusCode, resp.Header.Get("Allow"))
		}
	}
}

func TestStatusCodes(t *testing.T) {
	srv := httptest.NewServer(graphiql.Handler("t", "/graphql"))
	defer srv.Close()

	tests := []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/", http.StatusOK},
		{http.MethodHead, "/", http.StatusOK},
		{http.MethodPost, "/", http.StatusMethodNotAllowed},
		{http.MethodPut, "/", http.StatusMethodNotAllowed},
		{http.MethodDelete, "/", http.StatusMethodNotAllowed},
		{http.MethodOptions, "/", http.StatusMethodNotAllowed},
		{http.MethodGet, "/index.html", http.StatusNotFound},
		{http.MethodGet, "/graphql", http.StatusNotFound},
		{http.MethodGet, "/favicon.ico", http.StatusNotFound},
		{http.MethodGet, "/graphiql-assets", http.StatusNotFound},
		{http.MethodGet, graphiql.AssetPrefix, http.StatusNotFound},
		{http.MethodGet, graphiql.AssetPrefix + "nope.js", http.StatusNotFound},
		{http.MethodPost, graphiql.AssetPrefix + "nope.js", http.StatusNotFound},
		{http.MethodGet, graphiql.AssetPrefix + "graphiql-init.js", http.StatusNotFound}, // only the hashed name
		{http.MethodGet, graphiql.AssetPrefix + "NOTICE.md", http.StatusNotFound},
		{http.MethodGet, graphiql.AssetPrefix + "LICENSE.react.txt", http.StatusNotFound},
		{http.MethodGet, graphiql.AssetPrefix + "sub/react-18.3.1.production.min.js", http.StatusNotFound},
		{http.MethodGet, graphiql.AssetPrefix + "index.umd.js.map", http.StatusNotFound},
		{http.MethodGet, graphiql.AssetPrefix + "react-18.3.1.production.min.js", http.StatusOK},
		{http.MethodGet, "/x" + graphiql.AssetPrefix + "react-18.3.1.production.min.js", http.StatusNotFound},
	}
	for _, tt := range tests {
		resp, body := get(t, tt.method, srv.URL+tt.path, nil)
		if resp.StatusCode != tt.want {
			t.Errorf("%s %s: status %d, want %d", tt.method, tt.path, resp.StatusCode, tt.want)
		}
		if tt.want == http.StatusMethodNotAllowed && resp.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s %s: Allow %q", tt.method, tt.path, resp.Header.Get("Allow"))
		}
		if tt.method == http.MethodHead && len(body) != 0 {
			t.Errorf("%s %s: %d body bytes", tt.method, tt.path, len(body))
		}
	}
}

// TestEscaping checks that title and endpoint are escaped for HTML and that
// the endpoint round-trips through the JSON configuration block.
func TestEscaping(t *testing.T) {
	title := `<b>Tom & "Jerry"</b></title><script>alert(1)</script>`
	endpoint := `/gql?a=1&b="x"</script><script>alert(2)</script><!--` + "\u2028"
	srv := httptest.NewServer(graphiql.Handler(title, endpoint))
	defer srv.Close()

	_, page := get(t, http.MethodGet, srv.URL+"/", nil)
	if bytes.Contains(page, []byte("alert(")) && bytes.Contains(page, []byte("<script>alert")) {
		t.Fatalf("unescaped script injection in page:\n%s", page)
	}
	if n := bytes.Count(page, []byte("</script>")); n != bytes.Count(page, []byte("<script")) {
		t.Errorf("%d </script> for %d <script>:\n%s", n, bytes.Count(page, []byte("<script")), page)
	}
	m := titleRE.FindSubmatch(page)
	if m == nil || html.UnescapeString(string(m[1])) != title {
		t.Errorf("title: got %q", m)
	}

	m = configRE.FindSubmatch(page)
	if m == nil {
		t.Fatalf("no config block in page:\n%s", page)
	}
	var cfg struct {
		Endpoint         string `json:"endpoint"`
		DefaultHeaders   string `json:"defaultHeaders"`
		TokenPlaceholder string `json:"tokenPlaceholder"`
	}
	if err := json.Unmarshal(m[1], &cfg); err != nil {
		t.Fatalf("config block is not JSON: %v\n%s", err, m[1])
	}
	if cfg.Endpoint != endpoint {
		t.Errorf("endpoint round-trip: got %q, want %q", cfg.Endpoint, endpoint)
	}
	if cfg.TokenPlaceholder != graphiql.TokenPlaceholder {
		t.Errorf("tokenPlaceholder: %q", cfg.TokenPlaceholder)
	}
	var hdrs map[string]string
	if err := json.Unmarshal([]byte(cfg.DefaultHeaders), &hdrs); err != nil {
		t.Fatalf("defaultHeaders is not a JSON object: %v: %q", err, cfg.DefaultHeaders)
	}
	if hdrs["Authorization"] != "Bearer "+graphiql.TokenPlaceholder {
		t.Errorf("defaultHeaders: %q", cfg.DefaultHeaders)
	}
}

// TestStripPrefix checks that the relative asset URLs work when the handler
// is mounted under a sub-path.
func TestStripPrefix(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/ide/", http.StripPrefix("/ide", graphiql.Handler("t", "/graphql")))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// ServeMux redirects /ide to /ide/ (the default client follows it).
	resp, err := http.Get(srv.URL + "/ide")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/ide/" {
		t.Errorf("GET /ide: status %d at %s", resp.StatusCode, resp.Request.URL.Path)
	}

	resp, page := get(t, http.MethodGet, srv.URL+"/ide/", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /ide/: status %d", resp.StatusCode)
	}
	assets := pageAssets(t, srv.URL+"/ide/", page)
	if len(assets) == 0 {
		t.Fatal("no assets")
	}
	for _, u := range assets {
		if !strings.Contains(u, "/ide"+graphiql.AssetPrefix) {
			t.Errorf("asset %s not under /ide%s", u, graphiql.AssetPrefix)
		}
		resp, body := get(t, http.MethodGet, u, nil)
		if resp.StatusCode != http.StatusOK || len(body) == 0 {
			t.Errorf("GET %s: status %d, %d bytes", u, resp.StatusCode, len(body))
		}
	}
}

// pageConfig fetches the page a handler serves and decodes its JSON
// configuration block.
func pageConfig(t *testing.T, h http.Handler) (page string, cfg map[string]any) {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, body := get(t, http.MethodGet, srv.URL+"/", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /: status %d", resp.StatusCode)
	}
	m := configRE.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no configuration block in the page:\n%s", body)
	}
	if err := json.Unmarshal(m[1], &cfg); err != nil {
		t.Fatalf("configuration block: %v\n%s", err, m[1])
	}
	return string(body), cfg
}

// TestGraphiQLDemoPage: DemoHandler's page carries the starter document and
// the personas of the picker with their tokens; Handler's carries neither,
// and no token appears anywhere in it.
func TestGraphiQLDemoPage(t *testing.T) {
	const token = "cgt_demo-secret-1234"
	demo := graphiql.Demo{
		Document: "# Pick \"customer\" above\nquery CustomerOrders { purchaseOrders { totalCount } }\nsubscription S { x }\n",
		Personas: []graphiql.Persona{
			{Name: "customer", Organization: "Globex Manufacturing (CUSTOMER)", Note: "sees its orders", Token: token},
			{Name: "vendor", Organization: "Northwind <Systems>", Token: "cgt_vendor-5678"},
		},
	}
	page, cfg := pageConfig(t, graphiql.DemoHandler("Demo", "/graphql", demo))
	if cfg["defaultQuery"] != demo.Document {
		t.Errorf("defaultQuery = %q, want the starter document", cfg["defaultQuery"])
	}
	personas, _ := cfg["personas"].([]any)
	if len(personas) != 2 {
		t.Fatalf("personas = %v", cfg["personas"])
	}
	first, _ := personas[0].(map[string]any)
	if first["name"] != "customer" || first["token"] != token || first["organization"] != "Globex Manufacturing (CUSTOMER)" || first["note"] != "sees its orders" {
		t.Errorf("first persona = %v", first)
	}
	if second, _ := personas[1].(map[string]any); second["organization"] != "Northwind <Systems>" {
		t.Errorf("second persona = %v", second)
	}
	if strings.Contains(page, "<Systems>") {
		t.Errorf("persona text is not escaped in the page")
	}

	page, cfg = pageConfig(t, graphiql.Handler("API", "/graphql"))
	for _, key := range []string{"defaultQuery", "personas"} {
		if _, ok := cfg[key]; ok {
			t.Errorf("the page without demo data has %s: %v", key, cfg[key])
		}
	}
	if strings.Contains(page, "cgt_") || strings.Contains(page, token) {
		t.Errorf("the page without demo data contains a token:\n%s", page)
	}
}

// TestGraphiQLInitPicker: the bootstrap script builds the picker only from
// the configuration's personas, and fills the Authorization header.
func TestGraphiQLInitPicker(t *testing.T) {
	src, err := os.ReadFile("assets/graphiql-init.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"cfg.personas.length > 0", "cfg.defaultQuery", `headers.Authorization = "Bearer " + p.token`, "GraphiQL.React.useEditorContext"} {
		if !strings.Contains(string(src), want) {
			t.Errorf("graphiql-init.js lacks %q", want)
		}
	}
}
