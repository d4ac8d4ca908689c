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

    var props = {
      fetcher: fetcher,
      defaultHeaders: cfg.defaultHeaders,
      shouldPersistHeaders: true,
      isHeadersEditorEnabled: true,
      defaultEditorToolsVisibility: "headers"
    };
    if (cfg.defaultQuery) {
      props.defaultQuery = cfg.defaultQuery;
    }
    var children = [];
    if (Array.isArray(cfg.personas) && cfg.personas.length > 0) {
      children.push(personaPicker(cfg.personas, storedHeaders()));
    }
    ReactDOM.createRoot(mount).render(
      React.createElement.apply(React, [GraphiQL, props].concat(children))
    );
  } catch (err) {
    fail(err && err.message ? err.message : String(err));
  }

  // Demo mode only: a bar above GraphiQL with a <select> of the demo
  // personas. Picking one replaces the Authorization header in the headers
  // editor, which GraphiQL then sends with every request and, for
  // subscriptions, in the connection_init payload. It returns GraphiQL's
  // toolbar (its usual buttons) with a component that only reaches the
  // headers editor, since that lives inside GraphiQL's React context.
  function personaPicker(personas, saved) {
    var headerEditor = null;
    function HeaderEditorBridge() {
      var ctx = GraphiQL.React.useEditorContext();
      headerEditor = ctx ? ctx.headerEditor : null;
      return null;
    }

    var bar = document.createElement("div");
    bar.className = "demo-personas";
    var label = document.createElement("label");
    label.htmlFor = "demo-persona";
    label.textContent = "Demo persona (sets the Authorization header):";
    var select = document.createElement("select");
    select.id = "demo-persona";
    var none = document.createElement("option");
    none.value = "";
    none.textContent = "pick a persona…";
    select.appendChild(none);
    var savedAuth = "";
    if (saved) {
      Object.keys(saved).forEach(function (name) {
        if (name.toLowerCase() === "authorization") {
          savedAuth = String(saved[name]).trim();
        }
      });
    }
    personas.forEach(function (p, i) {
      var o = document.createElement("option");
      o.value = String(i);
      o.textContent = p.name + (p.organization ? " — " + p.organization : "");
      if (savedAuth === "Bearer " + p.token) {
        o.selected = true;
      }
      select.appendChild(o);
    });
    var note = document.createElement("span");
    note.className = "demo-note";
    function showNote() {
      var p = personas[Number(select.value)];
      note.textContent = select.value !== "" && p ? p.note || "" : "";
    }
    showNote();
    select.addEventListener("change", function () {
      showNote();
      var p = personas[Number(select.value)];
      if (!p || !headerEditor) {
        return;
      }
      var headers = {};
      try {
        headers = JSON.parse(headerEditor.getValue() || "{}");
      } catch (e) {
        headers = {};
      }
      if (!headers || typeof headers !== "object" || Array.isArray(headers)) {
        headers = {};
      }
      Object.keys(headers).forEach(function (name) {
        if (name.toLowerCase() === "authorization") {
          delete headers[name];
        }
      });
      headers.Authorization = "Bearer " + p.token;
      headerEditor.setValue(JSON.stringify(headers, null, 2));
    });
    bar.appendChild(label);
    bar.appendChild(select);
    bar.appendChild(note);
    mount.parentNode.insertBefore(bar, mount);

    return React.createElement(GraphiQL.Toolbar, null, function (buttons) {
      return React.createElement(React.Fragment, null,
        buttons.prettify, buttons.merge, buttons.copy,
        React.createElement(HeaderEditorBridge));
    });
  }
})();

