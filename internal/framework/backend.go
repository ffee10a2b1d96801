package framework

import (
	"context"
	"fmt"
	"strings"

	"github.com/tresorhq/tresor/internal/logical"
)

// Backend is a logical.Backend and logical.ExistenceChecker built from a
// table of paths. It is safe for concurrent use; its table is fixed at New.
type Backend struct {
	help  string
	paths []*Path
	root  node
}

var (
	_ logical.Backend          = (*Backend)(nil)
	_ logical.ExistenceChecker = (*Backend)(nil)
)

// New builds a backend from paths. help describes the whole backend. It
// fails when a pattern is malformed or two patterns have the same shape.
func New(help string, paths []*Path) (*Backend, error) {
	b := &Backend{help: help, paths: paths}
	for _, p := range paths {
		if err := b.root.insert(p); err != nil {
			return nil, fmt.Errorf("framework: %w", err)
		}
		for name, f := range p.Fields {
			if f == nil || f.Type < TypeString || f.Type > TypeObjectSlice {
				return nil, fmt.Errorf("framework: pattern %q: field %q has no valid type", p.Pattern, name)
			}
		}
	}
	return b, nil
}

// Match returns the path serving the request path and its captures, or
// nil when none does.
func (b *Backend) Match(path string) (*Path, map[string]string) {
	return b.root.match(path)
}

// HandleRequest routes req to its path's handler after checking its fields.
// Parameters the path does not declare become a response warning.
func (b *Backend) HandleRequest(ctx context.Context, req *logical.Request) (*logical.Response, error) {
	req = b.listPath(req)
	p, params := b.root.match(req.Path)
	if p == nil {
		return nil, logical.ErrUnsupportedPath
	}
	h := p.Operations[req.Operation]
	if h == nil {
		return nil, logical.ErrUnsupportedOperation
	}
	write := req.Operation == logical.CreateOperation || req.Operation == logical.UpdateOperation
	values, unknown, err := parseFields(p.Fields, req.Data, params, write)
	if err != nil {
		return nil, err
	}
	resp, err := h(ctx, &Request{Request: req, Path: p, Params: params, values: values})
	if err != nil || len(unknown) == 0 || p.TakesArbitraryData {
		return resp, err
	}
	if resp == nil {
		resp = &logical.Response{}
	}
	resp.Warnings = append(resp.Warnings, fmt.Sprintf("Endpoint ignored these unrecognized parameters: %v", unknown))
	return resp, nil
}

// listPath lets a path table spell list endpoints without the trailing
// slash the HTTP layer gives every LIST ("users/" is served by "users"),
// unless a pattern takes the slash itself (KV's "metadata/{path...}").
func (b *Backend) listPath(req *logical.Request) *logical.Request {
	if req.Operation != logical.ListOperation || !strings.HasSuffix(req.Path, "/") {
		return req
	}
	if p, _ := b.root.match(req.Path); p != nil && p.Operations[logical.ListOperation] != nil {
		return req
	}
	trimmed := strings.TrimSuffix(req.Path, "/")
	if p, _ := b.root.match(trimmed); p == nil || p.Operations[logical.ListOperation] == nil {
		return req
	}
	r := *req
	r.Path = trimmed
	return &r
}

// ExistenceCheck implements logical.ExistenceChecker: it runs the matched
// path's ExistenceCheck, if it has one. Fields are not checked here (the
// handler will), so malformed input does not turn into a wrong capability.
func (b *Backend) ExistenceCheck(ctx context.Context, req *logical.Request) (checked, exists bool, err error) {
	p, params := b.root.match(req.Path)
	if p == nil || p.ExistenceCheck == nil {
		return false, false, nil
	}
	// The body is converted only if the check decodes it (most read
	// captures alone): a 100-item batch_input is not converted twice.
	parse := func() map[string]any {
		values, _, err := parseFields(p.Fields, req.Data, params, false)
		if err != nil {
			// A bad body gets its 400 from the handler; for the
			// capability decision, judge the target by the captures
			// alone.
			values, _, _ = parseFields(nil, nil, params, false)
		}
		return values
	}
	exists, err = p.ExistenceCheck(ctx, &Request{Request: req, Path: p, Params: params, parse: parse})
	if err != nil {
		return true, false, fmt.Errorf("existence check of %q: %w", p.Pattern, err)
	}
	return true, exists, nil
}

// Help returns the help text of the path serving path: its synopsis,
// description and fields. For "" it describes the backend and lists its
// patterns.
func (b *Backend) Help(path string) string {
	var sb strings.Builder
	if path == "" {
		sb.WriteString(strings.TrimSpace(b.help))
		sb.WriteString("\n\n## PATHS\n")
		for _, p := range b.paths {
			fmt.Fprintf(&sb, "\n    %s\n        %s\n", p.Pattern, p.Synopsis)
		}
		return sb.String()
	}
	p, _ := b.root.match(path)
	if p == nil {
		return ""
	}
	fmt.Fprintf(&sb, "Request:        %s\nMatching Route: %s\n\n%s\n", path, p.Pattern, strings.TrimSpace(p.Synopsis))
	if len(p.Fields) > 0 {
		sb.WriteString("\n## PARAMETERS\n")
		for _, name := range sortedKeys(p.Fields) {
			f := p.Fields[name]
			fmt.Fprintf(&sb, "\n    %s (%s)\n        %s\n", name, f.Type, f.Description)
		}
	}
	if d := strings.TrimSpace(p.Description); d != "" {
		sb.WriteString("\n## DESCRIPTION\n\n")
		sb.WriteString(d)
		sb.WriteString("\n")
	}
	return sb.String()
}
