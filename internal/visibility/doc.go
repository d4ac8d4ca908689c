// Package visibility is the one home of "who may see what" (SPEC §1.5, §3.2,
// §3.3).
//
// Purchase orders: the rule of SPEC §3.2 is written once, in rule.go, as the
// SQL that derives purchase_order_visibility — one row per (viewer
// organization, purchase order it may see). Every change the rule depends on
// (a purchase order's parties or status, an edge's status or its
// purchaseOrderView grant) calls Refresh in the same transaction, so the
// index is never stale to any reader. Lists, lookups, counts and filters then
// read the index by (viewer, createdAt, id): the first page of a viewer that
// sees 70,000 orders is an index range scan of 50 rows, never a pass over
// every visible row re-checking grants.
//
// A customer's rows carry a null distributor (SPEC §3.3), so every field,
// filter and count built on the index hides the distributor from customers
// without a second check.
//
// Organizations (SPEC §1.5) are decided by one set the database evaluates
// from the edges and the purchase-order index (RestrictOrganizations,
// RestrictEdges).
//
// Pushed events (SPEC §7.3, §8.8): the audiences (audience.go) record, as
// an event commits, who may see its object then — an order's from the
// index, an organization's or an edge's by SPEC §1.5 read backwards — and
// RestrictToAudience keeps an event from anyone who could not.
//
// The reference model in the model subpackage states the same rules in plain
// Go; the randomized tests compare the two over many random channels.
package visibility
