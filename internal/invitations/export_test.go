package invitations

// FailBetweenEdges makes a combined acceptance fail with err after its first
// edge is written, inside its transaction.
func FailBetweenEdges(s *Service, err error) { s.betweenEdges = func() error { return err } }
