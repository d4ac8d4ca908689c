package main

import (
	"regexp"
	"strings"
	"testing"
)

// TestReadmePeopleFlow runs README's "People and subscriptions" as written,
// like TestReadmeResellerFlow: a JWT sign-in by the demo issuer, the
// subscriptions with their windows, a refused late reduction, a priced
// increase, and a SaaS activation that works once.
func TestReadmePeopleFlow(t *testing.T) {
	got := runReadmeSection(t, "## People and subscriptions")
	// Refused on purpose: the late reduction and the second activation.
	checkWalk(t, got, 2,
		`"member":{"name":"Alice Meyer"`,
		`"code":"WINDOW_CLOSED"`,
		`"kind":"CHANGE"`, `"licenseChange":5`, `"quantity":45`,
		`"status":"ACTIVE","billingStartedAt":"`,
		`already used`)
	// A final subscription lists no window to take licenses back in.
	cancelled := regexp.MustCompile(`"nickname":"Interns","product":\{"sku":"[^"]*"\},"status":"CANCELLED",` +
		`"quantity":\d+,"trial":false,"commitmentEndsAt":"[^"]*","cancellableUntil":"[^"]*","reductionWindows":\[\]`)
	if !cancelled.MatchString(got) {
		t.Errorf("the cancelled subscription is not listed, or lists windows to reduce in:\n%s", got)
	}
	if strings.Contains(got, "Atlas") {
		t.Errorf("the customer's step names the distributor:\n%s", got)
	}
}
