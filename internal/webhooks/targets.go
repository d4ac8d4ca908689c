package webhooks

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"

	"github.com/channelgraph/channelgraph/internal/domain"
)

// Targets decides where deliveries may go (SPEC §8.9): https URLs whose
// host resolves to public addresses only, unless AllowPrivate
// (CHANNELGRAPH_WEBHOOK_ALLOW_PRIVATE=1) also admits loopback and private
// addresses, over http or https. It is checked at registration (CheckURL)
// and again at every connection (DialContext), on the addresses the host
// resolves to then, so a name that later resolves somewhere private is
// refused too.
type Targets struct {
	AllowPrivate bool
	// Lookup resolves a host name (nil: net.DefaultResolver). Tests use it
	// to make a name resolve elsewhere between registration and delivery.
	Lookup func(ctx context.Context, host string) ([]netip.Addr, error)
}

// MaxURLLength bounds an endpoint's URL.
const MaxURLLength = 2048

// CheckURL validates an endpoint URL for registration: a BAD_USER_INPUT
// error on field url when it is malformed, not https (http only to private
// addresses where allowed), carries credentials, or names or resolves to an
// address that is not allowed.
func (t *Targets) CheckURL(ctx context.Context, raw string) error {
	bad := func(format string, args ...any) error {
		return domain.FieldErrorf(domain.CodeInvalid, "url", format, args...)
	}
	if len(raw) > MaxURLLength {
		return bad("is longer than %d characters", MaxURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return bad("must be an absolute URL such as https://hooks.example.com/channelgraph")
	}
	if u.User != nil {
		return bad("must not carry a user name or password: authenticate deliveries by their signature")
	}
	if u.Fragment != "" {
		return bad("must not have a fragment (#…)")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !t.AllowPrivate {
			return bad("must use https")
		}
	default:
		return bad("must use https, not %q", u.Scheme)
	}
	addrs, err := t.resolve(ctx, u.Hostname())
	if err != nil {
		return bad("%s does not resolve: %v", u.Hostname(), err)
	}
	private := false
	for _, a := range addrs {
		if err := t.allowed(a); err != nil {
			return bad("%s: %v", u.Hostname(), err)
		}
		private = private || !isPublic(a)
	}
	if u.Scheme == "http" && !private {
		return bad("must use https (http is allowed only to loopback and private addresses)")
	}
	return nil
}

// DialContext connects as net.Dialer does, but only to addresses Targets
// allows, resolving the host itself so the address checked is the address
// dialled.
func (t *Targets) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	addrs, err := t.resolve(ctx, host)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	var firstErr error
	for _, a := range addrs {
		if err := t.allowed(a); err != nil {
			return nil, fmt.Errorf("refused to connect to %s (%s): %w", host, a, err)
		}
	}
	for _, a := range addrs {
		conn, err := d.DialContext(ctx, network, net.JoinHostPort(a.String(), port))
		if err == nil {
			return conn, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}

func (t *Targets) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a.Unmap()}, nil
	}
	var addrs []netip.Addr
	var err error
	if t.Lookup != nil {
		addrs, err = t.Lookup(ctx, host)
	} else {
		addrs, err = net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	}
	if err != nil {
		return nil, err
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("no addresses")
	}
	for i := range addrs {
		addrs[i] = addrs[i].Unmap()
	}
	return addrs, nil
}

// allowed refuses addresses no delivery may reach, and private ones unless
// the operator allows them.
func (t *Targets) allowed(a netip.Addr) error {
	switch {
	case a.IsUnspecified(), a.IsMulticast(), a.IsInterfaceLocalMulticast():
		return fmt.Errorf("%s is not an address a delivery can reach", a)
	case isPublic(a):
		return nil
	case t.AllowPrivate && (a.IsLoopback() || a.IsPrivate()):
		return nil
	}
	return fmt.Errorf("%s is a loopback, private or link-local address (CHANNELGRAPH_WEBHOOK_ALLOW_PRIVATE=1 allows loopback and private ones)", a)
}

// isPublic: not loopback, private (RFC 1918, fc00::/7), link-local,
// shared (100.64.0.0/10) or otherwise reserved for local use.
func isPublic(a netip.Addr) bool {
	if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsUnspecified() {
		return false
	}
	for _, p := range reserved {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

var reserved = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
}
