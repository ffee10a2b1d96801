package tokenfields

import (
	"fmt"
	"net"
	"net/netip"
)

// ParseCIDRs parses CIDR blocks; a bare address counts as a block of that
// one address, as in Vault.
func ParseCIDRs(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		p, err := parseCIDR(s)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func parseCIDR(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a CIDR block or IP address", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// RemoteIP extracts the address from a connection's RemoteAddr, which is
// "ip:port" or a bare IP.
func RemoteIP(remoteAddr string) (netip.Addr, error) {
	host := remoteAddr
	if h, _, err := net.SplitHostPort(remoteAddr); err == nil {
		host = h
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("remote address %q is not an IP address", remoteAddr)
	}
	return a.Unmap(), nil
}

// AddrAllowed reports whether remoteAddr lies in one of cidrs. An empty
// list allows every address; an unparseable address or list allows none.
func AddrAllowed(remoteAddr string, cidrs []string) bool {
	if len(cidrs) == 0 {
		return true
	}
	ip, err := RemoteIP(remoteAddr)
	if err != nil {
		return false
	}
	blocks, err := ParseCIDRs(cidrs)
	if err != nil {
		return false
	}
	for _, b := range blocks {
		if b.Contains(ip) {
			return true
		}
	}
	return false
}

// Subset reports whether every block of inner lies within some block of
// outer. An empty outer contains everything.
func Subset(inner, outer []string) (bool, error) {
	if len(outer) == 0 {
		return true, nil
	}
	in, err := ParseCIDRs(inner)
	if err != nil {
		return false, err
	}
	out, err := ParseCIDRs(outer)
	if err != nil {
		return false, err
	}
	for _, i := range in {
		ok := false
		for _, o := range out {
			if o.Bits() <= i.Bits() && o.Contains(i.Addr()) {
				ok = true
				break
			}
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}
