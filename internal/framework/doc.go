// Package framework builds a logical.Backend from a table of paths, so an
// engine states each endpoint's shape once: its pattern, its fields and
// the handler of every operation it supports.
//
//	b, err := framework.New("Stores secrets.", []*framework.Path{{
//		Pattern:  "role/{name}",
//		Synopsis: "Manage roles.",
//		Fields: map[string]*framework.Field{
//			"ttl": {Type: framework.TypeDuration, Default: "1h"},
//		},
//		Operations: map[logical.Operation]framework.Handler{
//			logical.ReadOperation:   readRole,
//			logical.UpdateOperation: writeRole,
//		},
//	}})
//
// # Patterns
//
// A pattern is a list of slash-separated segments: literals ("config"),
// named segments ("{name}", one non-empty segment) and, last, a "rest of
// path" capture ("{path...}", everything after the preceding slash,
// possibly empty, slashes included). When several patterns match, the most
// specific wins, segment by segment from the left: a literal beats a named
// segment, which beats a rest capture. Declaration order never matters, and
// New refuses two patterns of the same shape.
//
// # Fields
//
// Fields are typed (TypeString, TypeInt, TypeBool, TypeDuration,
// TypeStringSlice, TypeIntSlice, TypeKVPairs, TypeMap, TypeObjectSlice) and are checked before the handler
// runs: a value of the wrong type, a missing required field or a failed
// Validate answers 400 naming the field. Parameters the path does not
// declare are ignored and reported as a response warning, as Vault does.
// A handler gets its input as a typed struct:
//
//	var in struct {
//		Name string        `field:"name"` // named segments decode too
//		TTL  time.Duration `field:"ttl"`
//		CAS  *int          `field:"cas"`  // nil when absent and no default
//	}
//	if err := req.Decode(&in); err != nil { ... }
//
// # Errors
//
// A request that matches no pattern answers logical.ErrUnsupportedPath
// (404); an operation the matched path does not declare answers
// logical.ErrUnsupportedOperation (405).
package framework
