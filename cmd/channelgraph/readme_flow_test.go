package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeResellerFlow runs README's "A reseller's day" as written: the
// gql helper of "Trying it", the section's helpers, and every block marked
// <!-- flow -->, in bash with curl, against `serve` on the demo data, with
// the tokens it printed. Each step must answer without a request error, the
// only user errors are the ones the walk shows on purpose, and the last
// step shows each persona its own prices.
func TestReadmeResellerFlow(t *testing.T) {
	got := runReadmeSection(t, "## A reseller's day")
	// The one refused line, on purpose: two faults, each on its field.
	checkWalk(t, got, 1, `"field":"productId"`, `"field":"quantity"`, `"status":"ACCEPTED"`, `"domain":"backup-`)
	views := regexp.MustCompile(`(?s)== (\w+)\n(.*?)(?:\n== |\z)`)
	seen := map[string]string{}
	for rest := got[strings.Index(got, "== CUSTOMER"):]; ; {
		m := views.FindStringSubmatchIndex(rest)
		if m == nil {
			break
		}
		seen[rest[m[2]:m[3]]] = rest[m[4]:m[5]]
		rest = rest[m[5]:]
	}
	for persona, want := range map[string][]string{
		"CUSTOMER":    {`"distributor":null`, `"buyPrice":{"amount"`, `"sellPrice":null`, `"margin":null`},
		"RESELLER":    {`"buyPrice":{"amount"`, `"sellPrice":{"amount"`, `"margin":{"amount"`},
		"DISTRIBUTOR": {`"buyPrice":{"amount"`, `"sellPrice":{"amount"`, `"margin":{"amount"`},
		"VENDOR":      {`"buyPrice":null`, `"sellPrice":{"amount"`, `"margin":null`},
	} {
		for _, w := range want {
			if !strings.Contains(seen[persona], w) {
				t.Errorf("%s's view of the order lacks %s:\n%s", persona, w, seen[persona])
			}
		}
	}
}

// runReadmeSection runs a README section's walk as written, in bash with
// curl, against `serve` on the demo data in a fresh directory, with the
// persona tokens it printed exported as the walk expects; ./bin/channelgraph
// there runs this build. It returns what the walk printed.
func runReadmeSection(t *testing.T, section string) string {
	t.Helper()
	for _, tool := range []string{"bash", "curl", "date", "grep"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the README's walk needs %s: %v", tool, err)
		}
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	script := readmeFlowScript(t, string(readme), section)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}

	t.Chdir(t.TempDir())
	if err := os.Mkdir("bin", 0o755); err != nil {
		t.Fatal(err)
	}
	wrapper := fmt.Sprintf("#!/bin/sh\nCHANNELGRAPH_TEST_AS_COMMAND=1 exec %q \"$@\"\n", self)
	if err := os.WriteFile(filepath.Join("bin", "channelgraph"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CHANNELGRAPH_DEMO", "1")
	t.Setenv("CHANNELGRAPH_ADDR", "127.0.0.1:0")
	t.Setenv("CHANNELGRAPH_DATABASE_URL", "")
	url, out, stop := startServe(t)
	defer stop()
	script = strings.ReplaceAll(script, "http://127.0.0.1:8080/graphql", url)

	cmd := exec.Command("bash", "-c", script)
	cmd.Env = os.Environ()
	for _, persona := range []string{"vendor", "distributor", "reseller", "customer"} {
		cmd.Env = append(cmd.Env, strings.ToUpper(persona)+"="+personaToken(t, out.String(), persona))
	}
	raw, err := cmd.CombinedOutput()
	got := string(raw)
	if err != nil {
		t.Fatalf("the README's walk failed: %v\n%s", err, got)
	}
	return got
}

// checkWalk fails t unless the walk's output has no request error, exactly
// refusals steps answering with user errors (those shown on purpose), and
// every string of wants.
func checkWalk(t *testing.T, got string, refusals int, wants ...string) {
	t.Helper()
	t.Log(got) // the walk as a reader sees it, with -v
	if strings.Contains(got, `"errors":`) {
		t.Fatalf("a step of the walk answered with a request error:\n%s", got)
	}
	if n := strings.Count(got, `"userErrors":[{`); n != refusals {
		t.Fatalf("%d steps answered with user errors, want the %d shown on purpose:\n%s", n, refusals, got)
	}
	for _, want := range wants {
		if !strings.Contains(got, want) {
			t.Errorf("the walk's output lacks %s", want)
		}
	}
}

// The test binary doubles as the channelgraph command, so README steps that
// run ./bin/channelgraph run this build.
func TestMain(m *testing.M) {
	if os.Getenv("CHANNELGRAPH_TEST_AS_COMMAND") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// readmeFlowScript assembles the flow: the gql helper, the section's own
// helpers (without the line that exports tokens, which the test sets), and
// the marked steps.
func readmeFlowScript(t *testing.T, readme, section string) string {
	t.Helper()
	blocks := regexp.MustCompile("(?s)(<!-- flow -->\n)?```sh\n(.*?)```")
	start := strings.Index(readme, section)
	if start < 0 {
		t.Fatalf("README has no %q section", section)
	}
	end := start + 1 + strings.Index(readme[start+1:], "\n## ")
	var helper string
	for _, m := range blocks.FindAllStringSubmatch(readme[:start], -1) {
		if strings.Contains(m[2], "gql() {") {
			helper = m[2]
		}
	}
	if helper == "" {
		t.Fatal("README defines no gql helper before the flow")
	}
	parts := []string{"set -eo pipefail", helper}
	steps := 0
	for i, m := range blocks.FindAllStringSubmatch(readme[start:end], -1) {
		switch {
		case i == 0:
			var kept []string
			for _, line := range strings.Split(m[2], "\n") {
				if !strings.HasPrefix(line, "export ") {
					kept = append(kept, line)
				}
			}
			parts = append(parts, strings.Join(kept, "\n"))
		case m[1] != "":
			parts = append(parts, m[2])
			steps++
		}
	}
	if steps < 5 {
		t.Fatalf("the flow has %d marked steps; want at least 5", steps)
	}
	return strings.Join(parts, "\n")
}
