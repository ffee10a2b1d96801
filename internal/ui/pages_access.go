package ui

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/vault/api"
)

func (c *rc) policyList() error {
	c.path, c.op = "sys/policies/acl", "list"
	sec, err := c.client.Logical().ListWithContext(c.ctx, "sys/policies/acl")
	if err != nil {
		return err
	}
	var names []string
	if sec != nil {
		keys, _ := sec.Data["keys"].([]any)
		for _, k := range keys {
			if s, ok := k.(string); ok {
				names = append(names, s)
			}
		}
	}
	sort.Strings(names)
	return c.ok("policy-list", "Policies", names)
}

type policyLine struct {
	N     int
	Text  string
	Error bool
}

type policyPage struct {
	Name     string
	Text     string
	New      bool
	ReadOnly bool
	Error    string
	ErrLine  int
	ErrCol   int
	Lines    []policyLine
}

// lineCol finds "line N, column M" in a parse error.
var lineCol = regexp.MustCompile(`line (\d+)(?:, column (\d+))?`)

// policyEdit shows a policy and saves edits; a parse error from the server
// is shown at its line.
func (c *rc) policyEdit() error {
	name := strings.ToLower(strings.TrimSpace(c.r.FormValue("name")))
	pp := policyPage{Name: name, New: name == "" || c.r.FormValue("new") != ""}
	if name != "" && (strings.ContainsAny(name, "/?#%\\") || name == "." || name == "..") {
		return c.badInput("That is not a valid policy name.")
	}
	if c.r.Method != http.MethodPost {
		if name != "" && c.r.FormValue("new") == "" {
			c.path, c.op = "sys/policies/acl/"+name, "read"
			sec, err := c.client.Logical().ReadWithContext(c.ctx, "sys/policies/acl/"+name)
			if err != nil {
				return err
			}
			if sec == nil {
				c.render(http.StatusNotFound, "error", "Not found", errorPage{Messages: []string{"There is no policy named " + name + "."}})
				return nil
			}
			pp.Text, _ = sec.Data["policy"].(string)
		}
		pp.ReadOnly = name == "root"
		return c.ok("policy-edit", "Policy "+name, pp)
	}
	pp.Text = c.r.PostFormValue("policy")
	if name == "" {
		pp.Error = "Give the policy a name."
		c.render(http.StatusBadRequest, "policy-edit", "New policy", pp)
		return nil
	}
	c.path, c.op = "sys/policies/acl/"+name, "update"
	_, err := c.client.Logical().WriteWithContext(c.ctx, "sys/policies/acl/"+name, map[string]any{"policy": pp.Text})
	if err != nil {
		var re *api.ResponseError
		if !errors.As(err, &re) || re.StatusCode != http.StatusBadRequest {
			return err
		}
		pp.Error = strings.Join(re.Errors, "; ")
		if m := lineCol.FindStringSubmatch(pp.Error); m != nil {
			pp.ErrLine, _ = strconv.Atoi(m[1])
			pp.ErrCol, _ = strconv.Atoi(m[2])
		}
		for i, l := range strings.Split(pp.Text, "\n") {
			pp.Lines = append(pp.Lines, policyLine{N: i + 1, Text: l, Error: i+1 == pp.ErrLine})
		}
		c.render(http.StatusBadRequest, "policy-edit", "Policy "+name, pp)
		return nil
	}
	return c.done("/ui/policy?name="+url.QueryEscape(name), "Saved policy "+name+".")
}

func (c *rc) policyDelete() error {
	name := strings.ToLower(c.form("name"))
	if name == "" || strings.ContainsAny(name, "/?#%\\") {
		return c.badInput("That is not a valid policy name.")
	}
	c.path, c.op = "sys/policies/acl/"+name, "delete"
	if _, err := c.client.Logical().DeleteWithContext(c.ctx, "sys/policies/acl/"+name); err != nil {
		return err
	}
	return c.done("/ui/policies", "Deleted policy "+name+".")
}

type whyPolicy struct {
	Name, Pattern, Kind, Capabilities, Why string
	Decides                                bool
}

type whyPage struct {
	Path, Op, Policies string
	Asked              bool
	Allowed            bool
	Reason             string
	Pattern, Kind      string
	Capabilities       string
	Why                string
	Root               bool
	Rows               []whyPolicy
	Ops                []string
}

var operations = []string{"read", "list", "create", "update", "patch", "delete"}

// why explains, for a path and an operation, which rule of the token's
// policies (or of named policies) decides, and why.
func (c *rc) why() error {
	wp := whyPage{Path: strings.TrimLeft(c.form("path"), "/"), Op: c.form("op"), Policies: c.form("policies"), Ops: operations}
	if wp.Op == "" {
		wp.Op = "read"
	}
	if wp.Path == "" {
		return c.ok("why", "Why", wp)
	}
	wp.Asked = true
	endpoint, body := "sys/policy/explain-self", map[string]any{"path": wp.Path, "operation": wp.Op}
	if wp.Policies != "" {
		endpoint, body["policies"] = "sys/policy/explain", wp.Policies
	}
	c.path, c.op = endpoint, "update"
	sec, err := c.client.Logical().WriteWithContext(c.ctx, endpoint, body)
	if err != nil {
		if msgs, ok := badRequest(err); ok {
			c.render(http.StatusBadRequest, "error", "Cannot explain", errorPage{Messages: msgs})
			return nil
		}
		return err
	}
	if sec == nil {
		return c.badInput("The server gave no explanation.")
	}
	d := sec.Data
	wp.Allowed, _ = d["allowed"].(bool)
	wp.Root, _ = d["root"].(bool)
	wp.Reason, _ = d["reason"].(string)
	if r, ok := d["rule"].(map[string]any); ok {
		wp.Pattern, wp.Kind, wp.Capabilities, wp.Why = str(r["pattern"]), str(r["kind"]), strs(r["capabilities"]), str(r["why"])
	}
	pols, _ := d["policies"].([]any)
	for _, p := range pols {
		m, _ := p.(map[string]any)
		row := whyPolicy{Name: str(m["name"]), Why: str(m["why"])}
		row.Decides, _ = m["decides"].(bool)
		if mt, ok := m["match"].(map[string]any); ok {
			row.Pattern, row.Kind, row.Capabilities = str(mt["pattern"]), str(mt["kind"]), strs(mt["capabilities"])
		}
		wp.Rows = append(wp.Rows, row)
	}
	return c.ok("why", "Why", wp)
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func strs(v any) string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, e := range l {
		out = append(out, fmt.Sprint(e))
	}
	return strings.Join(out, ", ")
}

type authRow struct {
	Path, Type, Description, Accessor string
	Members                           []string
	MembersKind                       string
	MembersErr                        string
}

// authMethods lists the auth methods with their users or roles.
func (c *rc) authMethods() error {
	c.path, c.op = "sys/auth", "read"
	methods, err := c.client.Sys().ListAuthWithContext(c.ctx)
	if err != nil {
		return err
	}
	var rows []authRow
	for p, m := range methods {
		row := authRow{Path: strings.TrimSuffix(p, "/"), Type: m.Type, Description: m.Description, Accessor: m.Accessor}
		list := ""
		switch m.Type {
		case "userpass":
			list, row.MembersKind = "auth/"+row.Path+"/users", "users"
		case "approle":
			list, row.MembersKind = "auth/"+row.Path+"/role", "roles"
		case "token":
			list, row.MembersKind = "auth/token/roles", "roles"
		case "cert":
			list, row.MembersKind = "auth/"+row.Path+"/certs", "certificates"
		}
		if list != "" {
			sec, err := c.client.Logical().ListWithContext(c.ctx, list)
			var re *api.ResponseError
			switch {
			case errors.As(err, &re) && re.StatusCode == http.StatusForbidden:
				row.MembersErr = "not permitted"
			case err != nil:
				row.MembersErr = "could not list"
			case sec != nil:
				keys, _ := sec.Data["keys"].([]any)
				for _, k := range keys {
					row.Members = append(row.Members, str(k))
				}
			}
		}
		rows = append(rows, row)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Path < rows[j].Path })
	return c.ok("authmethods", "Auth methods", rows)
}

type tokenPage struct {
	Self  bool
	Rows  []kvPair
	Error string
}

// tokenPage looks up the session's token, or another by token or accessor
// (sent in the form body, never the URL).
func (c *rc) tokenPage() error {
	tp := tokenPage{Self: true}
	var sec *api.Secret
	var err error
	if c.r.Method == http.MethodPost {
		tp.Self = false
		if acc := c.r.PostFormValue("accessor"); acc != "" {
			c.path, c.op = "auth/token/lookup-accessor", "update"
			sec, err = c.client.Auth().Token().LookupAccessorWithContext(c.ctx, acc)
		} else if tok := c.r.PostFormValue("token"); tok != "" {
			c.path, c.op = "auth/token/lookup", "update"
			sec, err = c.client.Auth().Token().LookupWithContext(c.ctx, tok)
		} else {
			tp.Error = "Enter a token or an accessor."
		}
	} else {
		c.path, c.op = "auth/token/lookup-self", "read"
		sec, err = c.client.Auth().Token().LookupSelfWithContext(c.ctx)
	}
	if err != nil {
		if msgs, ok := badRequest(err); ok {
			tp.Error = strings.Join(msgs, "; ")
		} else {
			return err
		}
	}
	if sec != nil {
		for k, v := range sec.Data {
			if k == "id" {
				continue // the token itself is never shown
			}
			tp.Rows = append(tp.Rows, kvPair{Key: k, Value: valueString(v)})
		}
		sort.Slice(tp.Rows, func(i, j int) bool { return tp.Rows[i].Key < tp.Rows[j].Key })
	}
	return c.ok("token", "Token", tp)
}
