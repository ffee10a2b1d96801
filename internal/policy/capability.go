package policy

import "fmt"

// Capability is a set of capabilities a policy grants on a path, as a
// bitmask. Deny is a capability of its own: a rule that denies grants
// nothing else, and wins when rules for the same path are merged.
type Capability uint16

// The capabilities of Vault's policy language.
const (
	Create Capability = 1 << iota
	Read
	Update
	Patch
	Delete
	List
	Sudo
	Deny
)

// capabilityNames is sorted by name, which is the order Strings and the
// printer use and the order sys/capabilities answers in.
var capabilityNames = []struct {
	name string
	c    Capability
}{
	{"create", Create},
	{"delete", Delete},
	{"deny", Deny},
	{"list", List},
	{"patch", Patch},
	{"read", Read},
	{"sudo", Sudo},
	{"update", Update},
}

// ParseCapability returns the capability called name (lower case, as in
// policies).
func ParseCapability(name string) (Capability, error) {
	for _, n := range capabilityNames {
		if n.name == name {
			return n.c, nil
		}
	}
	return 0, fmt.Errorf("invalid capability %q", name)
}

// Strings returns the names of the capabilities in c, sorted.
func (c Capability) Strings() []string {
	var out []string
	for _, n := range capabilityNames {
		if c&n.c != 0 {
			out = append(out, n.name)
		}
	}
	return out
}

// Has reports whether c includes every capability in want.
func (c Capability) Has(want Capability) bool { return c&want == want }

// operationCapability maps a request operation to the capability it needs.
func operationCapability(op string) Capability {
	switch op {
	case "read":
		return Read
	case "create":
		return Create
	case "update":
		return Update
	case "patch":
		return Patch
	case "delete":
		return Delete
	case "list":
		return List
	}
	return 0
}
