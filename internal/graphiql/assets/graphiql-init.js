// Bootstrap for the embedded GraphiQL page (package internal/graphiql).
//
// Expects the UMD globals React, ReactDOM (React 18) and GraphiQL (graphiql 4.x,
// which carries the bundled @graphiql/toolkit fetcher as GraphiQL.createFetcher
// and a bundled graphql-ws client for subscriptions). The page configuration is
// read from the JSON <script id="graphiql-config"> element rendered by Go's
// html/template, so this file contains no per-deployment data and the page needs
// no inline script (CSP script-src 'self').
(function () {
  "use strict";

  var mount = document.getElementById("graphiql");

  function fail(message) {
    if (mount) {
      mount.textContent = "GraphiQL failed to start: " + message;
      mount.className = "graphiql-error";
    }
    if (window.console) {
      console.error("GraphiQL failed to start:", message);
    }
  }

  try {
    if (typeof React === "undefined" || typeof ReactDOM === "undefined" ||
        typeof GraphiQL === "undefined" || typeof GraphiQL.createFetcher !== "function") {
      fail("a script asset did not load");
      return;
    }

    var cfg = JSON.parse(document.getElementById("graphiql-config").textContent);

    // Resolve the endpoint against the page URL and derive the websocket URL
    // for the same path: http -> ws, https -> wss.
    var httpURL = new URL(cfg.endpoint, window.location.href);
    httpURL.hash = "";
    var wsURL = new URL(httpURL.href);
    wsURL.protocol = httpURL.protocol === "https:" ? "wss:" : "ws:";

    // The headers editor starts with a template Authorization header whose value
    // is a placeholder. Never send the untouched placeholder (or an empty
    // "Bearer") to the server, so anonymous requests such as schema
    // introspection keep working until a real token is pasted.
    var placeholder = cfg.tokenPlaceholder;
    function isUnfilledAuth(name, value) {
      if (String(name).toLowerCase() !== "authorization") {
        return false;
      }
      var v = String(value == null ? "" : value).trim();
      return v === "" || /^bearer$/i.test(v) ||
        (placeholder !== "" && v.indexOf(placeholder) !== -1);
    }
    function cleanHeaders(headers) {
      if (!headers || typeof headers !== "object") {
        return headers;
      }
      var out = {};
      Object.keys(headers).forEach(function (name) {
        if (!isUnfilledAuth(name, headers[name])) {
          out[name] = headers[name];
        }
      });
      return out;
    }

    // GraphiQL 4 runs its first schema introspection before the headers
    // editor exists, i.e. without headers (and while mounting it also blanks
    // its "headers" storage key). Fall back to the headers it persisted for
    // the active tab, so that a token saved during an earlier visit is used
    // for the initial introspection too.
    function storedHeaders() {
      try {
        var ls = window.localStorage;
        if (ls.getItem("graphiql:shouldPersistHeaders") === "false") {
          return null;
        }
        var raw = null;
        var state = JSON.parse(ls.getItem("graphiql:tabState") || "null");
        if (state && Array.isArray(state.tabs) && state.tabs[state.activeTabIndex]) {
          raw = state.tabs[state.activeTabIndex].headers;
        }
        if (!raw) {
          raw = ls.getItem("graphiql:headers");
        }
        var headers = raw ? JSON.parse(raw) : null;
        return headers && typeof headers === "object" && !Array.isArray(headers) ? headers : null;
      } catch (e) {
        return null;
      }
    }

    // Headers from the editor are used for HTTP requests and, for
    // subscriptions, merged into the graphql-ws connection_init payload.
    var baseFetcher = GraphiQL.createFetcher({
      url: httpURL.href,
      subscriptionUrl: wsURL.href
    });
    var fetcher = function (params, opts) {
      var headers = opts && opts.headers ? opts.headers : storedHeaders();
      if (headers) {
        opts = Object.assign({}, opts, { headers: cleanHeaders(headers) });
      }
      return baseFetcher(params, opts);
    };

    ReactDOM.createRoot(mount).render(
      React.createElement(GraphiQL, {
        fetcher: fetcher,
        defaultHeaders: cfg.defaultHeaders,
        shouldPersistHeaders: true,
        isHeadersEditorEnabled: true,
        defaultEditorToolsVisibility: "headers"
      })
    );
  } catch (err) {
    fail(err && err.message ? err.message : String(err));
  }
})();
