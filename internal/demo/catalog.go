package demo

import (
	"github.com/channelgraph/channelgraph/internal/catalog"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/pricing"
)

// customerProfile gives each demo customer the industry and segment that
// decide what it may buy.
var customerProfile = map[string]struct {
	industry string
	segment  domain.Segment
}{
	"Globex Manufacturing": {"Manufacturing", domain.SegmentCommercial},
	"Hooli Health":         {"Healthcare", domain.SegmentCommercial},
	"Initech Schools":      {"Education", domain.SegmentEducation},
	"Jupiter Logistics":    {"Logistics", domain.SegmentCommercial},
	"Kestrel Retail":       {"Retail", domain.SegmentCommercial},
	"Lumen Energy":         {"Energy", domain.SegmentCommercial},
	"Meridian Council":     {"Public administration", domain.SegmentGovernment},
	"Nimbus Charity":       {"Social services", domain.SegmentNonprofit},
	"Orion Foods":          {"Retail", domain.SegmentCommercial},
	"Pioneer Bank":         {"Finance", domain.SegmentCommercial},
}

// demoProduct is one product of the demo catalog.
type demoProduct struct {
	sku, name, description, category string
	kind                             domain.ProductType
	listPrice, recommended           string
	segments                         []domain.Segment
	industries                       []string
	terms                            []domain.Term
	cycles                           []domain.BillingCycle
	trialDays                        int
	parent                           string
}

var (
	allTerms  = []domain.Term{domain.TermMonth, domain.TermYear}
	allCycles = []domain.BillingCycle{domain.BillMonthly, domain.BillAnnual}
)

// demoCatalog shows every catalog feature: terms and cycles, a trial, an
// add-on, a product for one segment and one for one industry.
var demoCatalog = []demoProduct{
	{sku: "NW-SUITE-E3", name: "Northwind Suite E3", category: "Productivity", kind: domain.ProductLicense,
		description: "Mail, documents and meetings for every employee.", listPrice: "10.00", recommended: "14.90",
		terms: allTerms, cycles: allCycles},
	{sku: "NW-SUITE-E5", name: "Northwind Suite E5", category: "Productivity", kind: domain.ProductLicense,
		description: "Suite E3 with advanced security and analytics.", listPrice: "25.00", recommended: "34.90",
		terms: allTerms, cycles: allCycles},
	{sku: "NW-BACKUP", name: "Northwind Backup", category: "Security", kind: domain.ProductSaaS,
		description: "Cloud backup of mailboxes and documents.", listPrice: "40.00", recommended: "55.00",
		terms: []domain.Term{domain.TermYear}, cycles: allCycles, trialDays: 30},
	{sku: "NW-BACKUP-ARCHIVE", name: "Northwind Backup Archive", category: "Security", kind: domain.ProductSaaS,
		description: "Ten-year archive storage; sold only with Northwind Backup.", listPrice: "12.00", recommended: "16.50",
		terms: []domain.Term{domain.TermYear}, cycles: allCycles, parent: "NW-BACKUP"},
	{sku: "NW-ROUTER-X1", name: "Northwind Router X1", category: "Hardware", kind: domain.ProductHardware,
		description: "A branch-office router.", listPrice: "55.00", recommended: "79.00",
		terms: []domain.Term{domain.TermYear}, cycles: []domain.BillingCycle{domain.BillAnnual}},
	{sku: "NW-ANALYTICS", name: "Northwind Analytics", category: "Data", kind: domain.ProductUsage,
		description: "Dashboards billed by the query.", listPrice: "70.00", recommended: "95.00",
		terms: []domain.Term{domain.TermMonth}, cycles: []domain.BillingCycle{domain.BillMonthly}},
	{sku: "NW-CAMPUS", name: "Northwind Campus", category: "Productivity", kind: domain.ProductLicense,
		description: "The suite for schools and universities.", listPrice: "3.00", recommended: "4.50",
		segments: []domain.Segment{domain.SegmentEducation}, terms: allTerms, cycles: allCycles},
	{sku: "NW-CLINIC", name: "Northwind Clinic Records", category: "Industry", kind: domain.ProductSaaS,
		description: "Patient records for clinics.", listPrice: "90.00", recommended: "120.00",
		industries: []string{"Healthcare"}, terms: []domain.Term{domain.TermYear}, cycles: allCycles, trialDays: 14},
}

// catalog creates the demo catalog; b.products maps SKUs to products.
func (b *builder) catalog() {
	b.products = map[string]*domain.Product{}
	for _, p := range demoCatalog {
		if b.err != nil {
			return
		}
		in := catalog.CreateProductInput{
			VendorID: b.orgs["Northwind Systems"].ID, SKU: p.sku, Name: p.name, Type: p.kind,
			Description: &p.description, Category: &p.category, Segments: p.segments, Industries: p.industries,
			Terms: p.terms, BillingCycles: p.cycles,
			ListPrice:        &domain.Money{Amount: p.listPrice, Currency: "EUR"},
			RecommendedPrice: &domain.Money{Amount: p.recommended, Currency: "EUR"},
		}
		if p.trialDays > 0 {
			in.TrialDays = &p.trialDays
		}
		if p.parent != "" {
			in.ParentID = &b.products[p.parent].ID
		}
		b.products[p.sku], b.err = b.cat.CreateProduct(b.ctx, in)
	}
}

// prices sets a monthly list price, price rules along Cobalt IT's chain
// and Cobalt's own arrangement of the catalog.
func (b *builder) prices() {
	if b.err != nil {
		return
	}
	percent := func(s string) *string { return &s }
	steps := []func() error{
		func() error { // a month-to-month commitment costs more
			_, err := b.pri.SetListPrice(b.ctx, pricing.SetListPriceInput{ProductID: b.products["NW-SUITE-E3"].ID,
				Term: domain.TermMonth, BillingCycle: domain.BillMonthly, Price: domain.Money{Amount: "12.00", Currency: "EUR"}})
			return err
		},
		func() error { // Atlas buys every product 15% below list
			_, err := b.pri.SetPriceRule(b.ctx, pricing.SetPriceRuleInput{
				ChannelEdgeID: b.edges[[2]string{"Northwind Systems", "Atlas Distribution"}].ID, MarkupPercent: percent("-15")})
			return err
		},
		func() error { // and sells to Cobalt at 8% over its cost
			_, err := b.pri.SetPriceRule(b.ctx, pricing.SetPriceRuleInput{
				ChannelEdgeID: b.edges[[2]string{"Atlas Distribution", "Cobalt IT"}].ID, MarkupPercent: percent("8")})
			return err
		},
		func() error { // Cobalt charges Globex 25% over its cost for everything,
			_, err := b.pri.SetPriceRule(b.ctx, pricing.SetPriceRuleInput{
				ChannelEdgeID: b.edges[[2]string{"Cobalt IT", "Globex Manufacturing"}].ID, MarkupPercent: percent("25")})
			return err
		},
		func() error { // but a set price for the E5 suite
			_, err := b.pri.SetPriceRule(b.ctx, pricing.SetPriceRuleInput{
				ChannelEdgeID: b.edges[[2]string{"Cobalt IT", "Globex Manufacturing"}].ID, ProductID: &b.products["NW-SUITE-E5"].ID,
				Price: &domain.Money{Amount: "29.90", Currency: "EUR"}})
			return err
		},
		func() error { // Cobalt's storefront: its own category and price for the E5 suite,
			category := "Bestsellers"
			_, err := b.cat.SetCatalogEntry(b.ctx, catalog.CatalogEntryInput{SellerID: b.orgs["Cobalt IT"].ID,
				ProductID: b.products["NW-SUITE-E5"].ID, Category: &category,
				RecommendedPrice: &domain.Money{Amount: "32.00", Currency: "EUR"}})
			return err
		},
		func() error { // and no hardware
			listed := false
			_, err := b.cat.SetCatalogEntry(b.ctx, catalog.CatalogEntryInput{SellerID: b.orgs["Cobalt IT"].ID,
				ProductID: b.products["NW-ROUTER-X1"].ID, Listed: &listed})
			return err
		},
	}
	for _, step := range steps {
		if b.err = step(); b.err != nil {
			return
		}
	}
}
