// Package domain holds the types every other package speaks: organizations,
// channel edges, products, purchase orders, the viewer acting on a request,
// and the one error type whose codes the transport maps to responses.
//
// It imports nothing of the project, so storage, authorization and GraphQL
// packages can all import it without importing each other; its structs carry
// bun tags naming their tables, so storage code scans into them directly.
package domain
