package domain

import (
	"time"

	"github.com/uptrace/bun"
)

// Member is a person in an organization with one role (SPEC §1.2, §8.1).
// Subject, when set, is the JWT "sub" the member signs in as. A removed
// member keeps its row (RemovedAt set) so what it did stays attributable.
type Member struct {
	bun.BaseModel `bun:"table:members,alias:m"`

	ID             int64      `bun:"id,pk,autoincrement"`
	OrganizationID int64      `bun:"organization_id"`
	Role           Role       `bun:"role"`
	Email          string     `bun:"email"`
	Name           string     `bun:"name"`
	Subject        *string    `bun:"subject"`
	CreatedAt      time.Time  `bun:"created_at"`
	RemovedAt      *time.Time `bun:"removed_at"`
}
