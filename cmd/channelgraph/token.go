package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/channelgraph/channelgraph/internal/auth"
	"github.com/channelgraph/channelgraph/internal/domain"
)

// tokenCmd issues an API token from the command line, for an operator
// bootstrapping an organization's first OWNER.
func tokenCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	org := fs.Int64("org", 0, "organization row id (required)")
	role := fs.String("role", "OWNER", "OWNER, ADMIN_AGENT, SALES_AGENT, BILLING_ADMIN or VIEWER")
	name := fs.String("name", "issued by channelgraph token", "a name to recognise the token by")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *org <= 0 {
		return fmt.Errorf("token: -org is required")
	}
	if !domain.Role(*role).Valid() {
		return fmt.Errorf("token: -role must be OWNER, ADMIN_AGENT, SALES_AGENT, BILLING_ADMIN or VIEWER")
	}
	db, err := openMigrated(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	exists, err := db.NewSelect().TableExpr("organizations").Where("id = ?", *org).Exists(ctx)
	if err != nil {
		return err
	}
	if !exists {
		return fmt.Errorf("token: no organization with id %d", *org)
	}
	secret, err := auth.IssueForSetup(ctx, db, *org, domain.Role(*role), *name)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, secret)
	return nil
}
