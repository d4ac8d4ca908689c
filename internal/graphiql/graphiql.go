// Package graphiql serves a self-contained GraphiQL IDE page.
//
// All JavaScript and CSS (GraphiQL 4.1.2 and React/ReactDOM 18.3.1 UMD
// builds) is embedded in the binary, so the page works without any network
// access besides the GraphQL endpoint itself. See assets/NOTICE.md for the
// exact versions, checksums and licenses.
//
// The handler serves the page at "/" and the assets under [AssetPrefix],
// relative to where it is mounted. To mount it at the root:
//
//	mux.Handle("/", graphiql.Handler("API", "/graphql"))
//
// and under a sub-path (the page must then be reached with a trailing slash,
// which ServeMux enforces by redirecting "/ide" to "/ide/"):
//
//	mux.Handle("/ide/", http.StripPrefix("/ide", graphiql.Handler("API", "/graphql")))
//
// [DemoHandler] serves the same page with a starter document and a persona
// picker that fills the Authorization header with a demo persona's token; it
// embeds those tokens in the page, so it is for demo data only.
package graphiql

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Pinned versions of the embedded third-party assets.
const (
	GraphiQLVersion = "4.1.2"
	ReactVersion    = "18.3.1"
)

// AssetPrefix is the path, relative to the handler's mount point, under which
// the embedded assets are served. Asset file names contain the package version
// (or a content hash), so they are served with a long, immutable Cache-Control.
const AssetPrefix = "/graphiql-assets/"

// TokenPlaceholder is the placeholder value of the Authorization header in
// the headers editor template. The page never sends it to the server.
const TokenPlaceholder = "<paste a token>"

// defaultHeaders is the initial content of GraphiQL's headers editor. It is
// only used when the browser has no persisted headers for the page yet.
const defaultHeaders = "{\n  \"Authorization\": \"Bearer " + TokenPlaceholder + "\"\n}"

//go:embed assets/*.js assets/*.css
var assetFS embed.FS

// Served asset names (the part after AssetPrefix). The vendor files are
// embedded under these exact names; the bootstrap script's served name gets a
// content hash (see loadAssets).
const (
	reactFile    = "react-" + ReactVersion + ".production.min.js"
	reactDOMFile = "react-dom-" + ReactVersion + ".production.min.js"
	graphiqlJS   = "graphiql-" + GraphiQLVersion + ".min.js"
	graphiqlCSS  = "graphiql-" + GraphiQLVersion + ".min.css"
	initFile     = "graphiql-init.js"
)

// Content-Security-Policy of the page. No inline or eval'd script is needed:
// the configuration is a JSON data block and the bootstrap is an asset.
// GraphiQL's components inject <style> elements, hence 'unsafe-inline' for
// styles. connect-src allows any http(s)/ws(s) URL so the endpoint may live on
// another origin.
const pageCSP = "default-src 'none'; script-src 'self'; " +
	"style-src 'self' 'unsafe-inline'; img-src 'self' data: https:; " +
	"font-src 'self' data:; connect-src 'self' http: https: ws: wss:; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'self'"

type asset struct {
	contentType string
	etag        string
	data        []byte

	gzipOnce sync.Once
	gzipData []byte // nil if compression does not pay off
}

func (a *asset) gzipped() []byte {
	a.gzipOnce.Do(func() {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if _, err := zw.Write(a.data); err != nil {
			return
		}
		if err := zw.Close(); err != nil {
			return
		}
		if buf.Len() < len(a.data)*9/10 {
			a.gzipData = buf.Bytes()
		}
	})
	return a.gzipData
}

var (
	loadOnce sync.Once
	assets   map[string]*asset // keyed by served name
	initName string            // served name of the bootstrap script
)

func loadAssets() {
	assets = make(map[string]*asset)
	for _, name := range []string{reactFile, reactDOMFile, graphiqlJS, graphiqlCSS, initFile} {
		data, err := fs.ReadFile(assetFS, "assets/"+name)
		if err != nil {
			panic("graphiql: missing embedded asset: " + err.Error())
		}
		sum := sha256.Sum256(data)
		hash := hex.EncodeToString(sum[:])
		served := name
		if name == initFile {
			// Our own script has no version in its name: add a content hash
			// so that it can be cached as immutably as the vendor files.
			served = strings.TrimSuffix(name, ".js") + "." + hash[:12] + ".js"
			initName = served
		}
		ct := "text/javascript; charset=utf-8"
		if path.Ext(name) == ".css" {
			ct = "text/css; charset=utf-8"
		}
		assets[served] = &asset{contentType: ct, etag: `"` + hash[:32] + `"`, data: data}
	}
}

var pageTmpl = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{.Title}}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{{.CSS}}">
<style>
html, body { height: 100%; margin: 0; }
body { display: flex; flex-direction: column; }
#graphiql { flex: 1 1 auto; min-height: 0; }
.graphiql-error { padding: 1em; font-family: sans-serif; color: #b00020; }
.demo-personas { display: flex; align-items: center; gap: 0.6em; padding: 0.4em 1em;
  font: 14px/1.4 system-ui, sans-serif; background: #f0f4fa; border-bottom: 1px solid #d6dde8; }
.demo-personas select { font: inherit; padding: 0.1em 0.3em; }
.demo-personas .demo-note { color: #555; }
</style>
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<noscript>GraphiQL requires JavaScript.</noscript>
<script id="graphiql-config" type="application/json">{{.Config}}</script>
{{range .Scripts}}<script src="{{.}}"></script>
{{end}}</body>
</html>
`))

// pageConfig is handed to assets/graphiql-init.js as JSON.
type pageConfig struct {
	Endpoint         string `json:"endpoint"`
	DefaultHeaders   string `json:"defaultHeaders"`
	TokenPlaceholder string `json:"tokenPlaceholder"`
	// Demo mode only (DemoHandler): the editor's initial document and the
	// personas of the picker, tokens included.
	DefaultQuery string    `json:"defaultQuery,omitempty"`
	Personas     []Persona `json:"personas,omitempty"`
}

// Persona is one entry of the demo page's persona picker.
type Persona struct {
	// Name is the persona's name, e.g. "customer".
	Name string `json:"name"`
	// Organization describes whom the persona acts as, e.g. "Globex Manufacturing (CUSTOMER)".
	Organization string `json:"organization,omitempty"`
	// Note says what the persona shows.
	Note string `json:"note,omitempty"`
	// Token is sent as "Authorization: Bearer <Token>" once the persona is picked.
	Token string `json:"token"`
}

// Demo is what the page offers on a server serving demo data.
type Demo struct {
	// Personas fill the picker; each one's token is embedded in the page.
	Personas []Persona
	// Document is the query editor's initial content (a browser that has
	// already saved its own keeps that).
	Document string
}

type pageData struct {
	Title   string
	CSS     string
	Scripts []string
	Config  pageConfig
}

// handler serves the rendered page and the embedded assets.
type handler struct {
	page    []byte
	created time.Time
}

// Handler serves the GraphiQL page at the path it is mounted on and its assets
// under [AssetPrefix]. endpoint is the GraphQL HTTP path (e.g. "/graphql"), or
// a full URL; title is the page title.
//
// Relative to the mount point, GET or HEAD "/" returns the HTML page and
// GET or HEAD AssetPrefix+"<file>" an embedded asset; any other path is
// 404 Not Found, and other methods on those paths are 405 Method Not Allowed.
//
// The page's GraphiQL has its headers editor open with an Authorization
// template whose placeholder value ([TokenPlaceholder]) is never sent; the
// headers are persisted in the browser's localStorage. Subscriptions use
// graphql-ws (graphql-transport-ws protocol) at the ws:// or wss:// form of
// endpoint, with the editor's headers as the connection_init payload.
func Handler(title, endpoint string) http.Handler {
	return newHandler(title, endpoint, nil)
}

// DemoHandler is [Handler] for a server serving demo data: the query editor
// starts with demo.Document, and a bar above GraphiQL lets the user pick one
// of demo.Personas, which replaces the Authorization header in the headers
// editor (and so in the websocket's connection_init payload) with that
// persona's token. The page embeds every persona's token: never use it on a
// server with real data.
func DemoHandler(title, endpoint string, demo Demo) http.Handler {
	return newHandler(title, endpoint, &demo)
}

func newHandler(title, endpoint string, demo *Demo) http.Handler {
	loadOnce.Do(loadAssets)
	// Asset URLs are relative to the page so that the handler works under
	// http.StripPrefix as well as at the root.
	rel := func(name string) string { return strings.TrimPrefix(AssetPrefix, "/") + name }
	data := pageData{
		Title:   title,
		CSS:     rel(graphiqlCSS),
		Scripts: []string{rel(reactFile), rel(reactDOMFile), rel(graphiqlJS), rel(initName)},
		Config: pageConfig{
			Endpoint:         endpoint,
			DefaultHeaders:   defaultHeaders,
			TokenPlaceholder: TokenPlaceholder,
		},
	}
	if demo != nil {
		data.Config.DefaultQuery = demo.Document
		data.Config.Personas = demo.Personas
	}
	var buf bytes.Buffer
	if err := pageTmpl.Execute(&buf, data); err != nil {
		panic("graphiql: rendering page: " + err.Error())
	}
	return &handler{page: buf.Bytes(), created: time.Now()}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/":
		if !allowMethod(w, r) {
			return
		}
		hdr := w.Header()
		hdr.Set("Content-Type", "text/html; charset=utf-8")
		hdr.Set("Cache-Control", "no-cache")
		hdr.Set("X-Content-Type-Options", "nosniff")
		hdr.Set("Referrer-Policy", "no-referrer")
		hdr.Set("Content-Security-Policy", pageCSP)
		http.ServeContent(w, r, "", h.created, bytes.NewReader(h.page))
	case strings.HasPrefix(p, AssetPrefix):
		a := assets[strings.TrimPrefix(p, AssetPrefix)]
		if a == nil {
			http.NotFound(w, r)
			return
		}
		if !allowMethod(w, r) {
			return
		}
		serveAsset(w, r, a)
	default:
		http.NotFound(w, r)
	}
}

func allowMethod(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
	return false
}

func serveAsset(w http.ResponseWriter, r *http.Request, a *asset) {
	hdr := w.Header()
	hdr.Set("Content-Type", a.contentType)
	hdr.Set("Cache-Control", "public, max-age=31536000, immutable")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Add("Vary", "Accept-Encoding")
	body, etag := a.data, a.etag
	if acceptsGzip(r.Header.Get("Accept-Encoding")) {
		if gz := a.gzipped(); gz != nil {
			body, etag = gz, strings.TrimSuffix(a.etag, `"`)+`-gzip"`
			hdr.Set("Content-Encoding", "gzip")
			// ServeContent leaves Content-Length unset when Content-Encoding
			// is set (it overrides it for range requests and drops it for
			// 304 and error responses).
			hdr.Set("Content-Length", strconv.Itoa(len(gz)))
		}
	}
	hdr.Set("ETag", etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// acceptsGzip reports whether an Accept-Encoding header value allows gzip.
func acceptsGzip(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		coding, params, _ := strings.Cut(part, ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "x-gzip" {
			continue
		}
		for _, param := range strings.Split(params, ";") {
			k, v, _ := strings.Cut(param, "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") {
				v = strings.TrimSpace(v)
				if strings.Trim(v, "0.") == "" { // q=0, q=0.0, q=0.000
					return false
				}
			}
		}
		return true
	}
	return false
}
