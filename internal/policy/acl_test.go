package policy

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/tresorhq/tresor/internal/logical"
)

// testPolicies are the policies the decision table draws on, by name.
var testPolicies = map[string]string{
	"glob": `
path "secret/*" { capabilities = ["read", "list"] }
path "secret/app/config" { capabilities = ["update"] }
`,
	"bare-glob": `path "secret*" { capabilities = ["read"] }`,
	"plus": `
path "team/+/config" { capabilities = ["read"] }
path "team/+/data/*" { capabilities = ["create", "update"] }
path "team/admin/+" { capabilities = ["delete"] }
`,
	"deny-ab":   `path "secret/a/b" { capabilities = ["deny"] }`,
	"list-plus": `path "secret/+/*" { capabilities = ["list"] }`,
	"writer":    `path "secret/*" { capabilities = ["create", "update"] }`,
	"denier":    `path "secret/*" { capabilities = ["deny"] }`,
	"sudo": `
path "sys/seal" { capabilities = ["update", "sudo"] }
path "sys/rotate" { capabilities = ["sudo"] }
`,
	"params": `
path "kv/allowed" {
  capabilities = ["create", "update", "patch", "read"]
  allowed_parameters = {
    "env"  = ["dev", "stage-*"]
    "tags" = []
  }
}
path "kv/denied" {
  capabilities = ["update"]
  denied_parameters = {
    "admin" = []
    "role"  = ["*root"]
  }
}
path "kv/required" {
  capabilities = ["create", "read"]
  required_parameters = ["owner"]
}
path "kv/anyname" {
  capabilities = ["update"]
  allowed_parameters = {
    "*"    = []
    "mode" = ["ro"]
  }
}
path "kv/denyall" {
  capabilities = ["update"]
  denied_parameters = { "*" = [] }
}
path "kv/number" {
  capabilities = ["update"]
  allowed_parameters = { "ttl" = [10, 20] }
}
`,
	"wrap": `
path "wrap/min" {
  capabilities = ["read"]
  min_wrapping_ttl = "1m"
}
path "wrap/max" {
  capabilities = ["read"]
  max_wrapping_ttl = 3600
}
path "wrap/both" {
  capabilities = ["read"]
  min_wrapping_ttl = "1m"
  max_wrapping_ttl = "10m"
}
`,
	"wrap-tight": `
path "wrap/max" {
  capabilities = ["read"]
  max_wrapping_ttl = "5m"
}
`,
	"legacy": `
path "old/read" { policy = "read" }
path "old/write" { policy = "write" }
path "old/deny" { policy = "deny" }
path "old/sudo" { policy = "sudo" }
`,
	"priority": `
path "prio/+/x" { capabilities = ["read"] }
path "prio/a/*" { capabilities = ["update"] }
path "prio/b/+" { capabilities = ["delete"] }
path "prio/+/y" { capabilities = ["create"] }
path "prio/c/+" { capabilities = ["list"] }
path "prio/c/*" { capabilities = ["patch"] }
path "prio/+/e/f" { capabilities = ["read"] }
path "prio/+/+/f" { capabilities = ["delete"] }
path "prio/+/g*" { capabilities = ["read"] }
path "prio/+/gg*" { capabilities = ["update"] }
`,
	"prio-star": `path "prio/*" { capabilities = ["sudo"] }`,
	"template": `
path "users/{{identity.entity.name}}/*" { capabilities = ["create", "read"] }
path "meta/{{ identity.entity.metadata.team }}" { capabilities = ["read"] }
path "alias/{{identity.entity.aliases.auth_userpass_1234.name}}" { capabilities = ["read"] }
path "ids/{{identity.entity.id}}" { capabilities = ["read"] }
`,
	"json": `{"path": {"json/*": {"capabilities": ["read"]}, "json/w": {"policy": "write"}}}`,
	"merge-same-path": `
path "dup/x" { capabilities = ["read"] }
path "dup/x" { capabilities = ["update"] }
`,
}

var (
	alice = &Entity{ID: "e-1", Name: "alice", Metadata: map[string]string{"team": "blue"},
		Aliases: map[string]string{"auth_userpass_1234": "al"}}
	evilGlob  = &Entity{ID: "e-2", Name: "*", Metadata: map[string]string{"team": "+"}}
	evilSlash = &Entity{ID: "e/3", Name: "a/b", Metadata: map[string]string{"team": ""}}
)

func compile(t testing.TB, names []string, e *Entity) *ACL {
	t.Helper()
	var ps []*Policy
	for _, n := range names {
		var p *Policy
		if n == RootName {
			p = builtin(RootName)
		} else {
			text, ok := testPolicies[n]
			if !ok {
				t.Fatalf("no test policy %q", n)
			}
			var err error
			if p, err = Parse(n, text); err != nil {
				t.Fatalf("Parse(%s): %v", n, err)
			}
		}
		ps = append(ps, p.Render(e))
	}
	a, err := NewACL(ps...)
	if err != nil {
		t.Fatalf("NewACL: %v", err)
	}
	return a
}

func TestAllowedDecisionTable(t *testing.T) {
	type check struct {
		policies []string
		entity   *Entity
		op       logical.Operation
		path     string
		params   map[string]any
		wrap     time.Duration
		want     bool
		sudo     bool
	}
	read, list, create, update, patch, del := logical.ReadOperation, logical.ListOperation,
		logical.CreateOperation, logical.UpdateOperation, logical.PatchOperation, logical.DeleteOperation
	glob := []string{"glob"}
	tests := map[string]check{
		// Exact rules and globs.
		"glob grants read below the prefix":              {policies: glob, op: read, path: "secret/foo", want: true},
		"glob grants read deep below the prefix":         {policies: glob, op: read, path: "secret/a/b/c", want: true},
		"glob does not grant unlisted update":            {policies: glob, op: update, path: "secret/foo"},
		"glob secret/* does not match secret":            {policies: glob, op: read, path: "secret"},
		"glob secret/* does not match secretx":           {policies: glob, op: read, path: "secretx"},
		"glob secret/* matches secret/ itself":           {policies: glob, op: read, path: "secret/", want: true},
		"bare glob secret* matches secretx":              {policies: []string{"bare-glob"}, op: read, path: "secretx", want: true},
		"bare glob secret* matches secret":               {policies: []string{"bare-glob"}, op: read, path: "secret", want: true},
		"exact rule beats glob: update granted":          {policies: glob, op: update, path: "secret/app/config", want: true},
		"exact rule beats glob: glob read not inherited": {policies: glob, op: read, path: "secret/app/config"},
		"exact rule is exact: child falls back to glob":  {policies: glob, op: read, path: "secret/app/config/x", want: true},
		"leading slash on request path is ignored":       {policies: glob, op: read, path: "/secret/foo", want: true},
		"no rule at all denies":                          {policies: glob, op: read, path: "other/foo"},
		"unknown operation denies":                       {policies: glob, op: "help", path: "secret/foo"},
		"policies union capabilities on the same glob":   {policies: []string{"glob", "writer"}, op: create, path: "secret/new", want: true},
		"union keeps the other policy's read":            {policies: []string{"glob", "writer"}, op: read, path: "secret/new", want: true},
		"json policy glob":                               {policies: []string{"json"}, op: read, path: "json/a", want: true},
		"json policy legacy write grants delete":         {policies: []string{"json"}, op: del, path: "json/w", want: true},
		"same path twice in one policy merges (read)":    {policies: []string{"merge-same-path"}, op: read, path: "dup/x", want: true},
		"same path twice in one policy merges (update)":  {policies: []string{"merge-same-path"}, op: update, path: "dup/x", want: true},
		"same path twice in one policy grants no more":   {policies: []string{"merge-same-path"}, op: del, path: "dup/x"},
		// Plus segments.
		"plus matches one segment":                         {policies: []string{"plus"}, op: read, path: "team/red/config", want: true},
		"plus does not match two segments":                 {policies: []string{"plus"}, op: read, path: "team/red/blue/config"},
		"plus does not match zero segments":                {policies: []string{"plus"}, op: read, path: "team/config"},
		"plus pattern is not a prefix":                     {policies: []string{"plus"}, op: read, path: "team/red/config/x"},
		"plus then glob matches below":                     {policies: []string{"plus"}, op: update, path: "team/red/data/a/b", want: true},
		"plus then glob needs the literal segment":         {policies: []string{"plus"}, op: update, path: "team/red/other/a"},
		"trailing plus matches last segment":               {policies: []string{"plus"}, op: del, path: "team/admin/x", want: true},
		"trailing plus: later wildcard beats earlier plus": {policies: []string{"plus"}, op: read, path: "team/admin/config"},
		// Deny merging.
		"deny in another policy beats the glob read":   {policies: []string{"glob", "denier"}, op: read, path: "secret/foo"},
		"deny merges regardless of policy order":       {policies: []string{"denier", "writer"}, op: create, path: "secret/foo"},
		"deny on exact path denies it":                 {policies: []string{"glob", "deny-ab"}, op: read, path: "secret/a/b"},
		"deny on exact path leaves siblings":           {policies: []string{"glob", "deny-ab"}, op: read, path: "secret/a/c", want: true},
		"deny on secret/a/b beats list on secret/+/*":  {policies: []string{"deny-ab", "list-plus"}, op: list, path: "secret/a/b"},
		"deny on secret/a/b beats list of secret/a/b/": {policies: []string{"deny-ab", "list-plus"}, op: list, path: "secret/a/b/"},
		"list on secret/+/* allows other folders":      {policies: []string{"deny-ab", "list-plus"}, op: list, path: "secret/a/c/", want: true},
		// Lists and trailing slashes.
		"list with trailing slash under glob":             {policies: glob, op: list, path: "secret/foo/", want: true},
		"list without trailing slash is checked with one": {policies: glob, op: list, path: "secret/foo", want: true},
		"list of the glob root secret/":                   {policies: glob, op: list, path: "secret/", want: true},
		"list of secret (no slash) matches secret/*":      {policies: glob, op: list, path: "secret", want: true},
		"list falls back to exact rule without slash":     {policies: []string{"legacy"}, op: list, path: "old/read/", want: true},
		"list on plus folder needs the folder segment":    {policies: []string{"list-plus"}, op: list, path: "secret/", want: false},
		// Sudo.
		"sudo path allows update and reports sudo":      {policies: []string{"sudo"}, op: update, path: "sys/seal", want: true, sudo: true},
		"sudo-only path denies update but reports sudo": {policies: []string{"sudo"}, op: update, path: "sys/rotate", sudo: true},
		"non-sudo path reports no sudo":                 {policies: glob, op: read, path: "secret/x", want: true},
		// Parameters.
		"allowed parameter with listed value":         {policies: []string{"params"}, op: update, path: "kv/allowed", params: map[string]any{"env": "dev"}, want: true},
		"allowed parameter with globbed value":        {policies: []string{"params"}, op: create, path: "kv/allowed", params: map[string]any{"env": "stage-eu"}, want: true},
		"allowed parameter with other value":          {policies: []string{"params"}, op: update, path: "kv/allowed", params: map[string]any{"env": "prod"}},
		"allowed parameter any value":                 {policies: []string{"params"}, op: patch, path: "kv/allowed", params: map[string]any{"tags": []any{"x", "y"}}, want: true},
		"allowed parameter name is case-insensitive":  {policies: []string{"params"}, op: update, path: "kv/allowed", params: map[string]any{"ENV": "dev"}, want: true},
		"parameter not in allowed list":               {policies: []string{"params"}, op: update, path: "kv/allowed", params: map[string]any{"other": "1"}},
		"allowed list value needs every element":      {policies: []string{"params"}, op: update, path: "kv/allowed", params: map[string]any{"env": []any{"dev", "prod"}}},
		"comma string needs every part allowed":       {policies: []string{"params"}, op: update, path: "kv/allowed", params: map[string]any{"env": "dev,prod"}},
		"comma string with all parts allowed":         {policies: []string{"params"}, op: update, path: "kv/allowed", params: map[string]any{"env": "dev, stage-us"}, want: true},
		"parameters do not constrain read":            {policies: []string{"params"}, op: read, path: "kv/allowed", params: map[string]any{"env": "prod"}, want: true},
		"no parameters pass allowed list":             {policies: []string{"params"}, op: update, path: "kv/allowed", want: true},
		"denied parameter any value":                  {policies: []string{"params"}, op: update, path: "kv/denied", params: map[string]any{"admin": false}},
		"denied parameter globbed value":              {policies: []string{"params"}, op: update, path: "kv/denied", params: map[string]any{"role": "superroot"}},
		"denied parameter other value":                {policies: []string{"params"}, op: update, path: "kv/denied", params: map[string]any{"role": "reader"}, want: true},
		"denied value hidden in a list":               {policies: []string{"params"}, op: update, path: "kv/denied", params: map[string]any{"role": []any{"reader", "root"}}},
		"denied value hidden in a comma string":       {policies: []string{"params"}, op: update, path: "kv/denied", params: map[string]any{"role": "reader,root"}},
		"deny-all parameters refuses any parameter":   {policies: []string{"params"}, op: update, path: "kv/denyall", params: map[string]any{"x": 1}},
		"deny-all parameters allows an empty body":    {policies: []string{"params"}, op: update, path: "kv/denyall", want: true},
		"required parameter present":                  {policies: []string{"params"}, op: create, path: "kv/required", params: map[string]any{"owner": "me"}, want: true},
		"required parameter missing":                  {policies: []string{"params"}, op: create, path: "kv/required", params: map[string]any{"x": "me"}},
		"required parameter missing on empty body":    {policies: []string{"params"}, op: create, path: "kv/required"},
		"star allows any name but checks listed ones": {policies: []string{"params"}, op: update, path: "kv/anyname", params: map[string]any{"foo": 1, "mode": "ro"}, want: true},
		"star with listed name and bad value":         {policies: []string{"params"}, op: update, path: "kv/anyname", params: map[string]any{"mode": "rw"}},
		"numeric value matches json number":           {policies: []string{"params"}, op: update, path: "kv/number", params: map[string]any{"ttl": json.Number("20")}, want: true},
		"numeric value matches float64":               {policies: []string{"params"}, op: update, path: "kv/number", params: map[string]any{"ttl": float64(10)}, want: true},
		"numeric value out of list":                   {policies: []string{"params"}, op: update, path: "kv/number", params: map[string]any{"ttl": 30}},
		"map value never matches a value list":        {policies: []string{"params"}, op: update, path: "kv/number", params: map[string]any{"ttl": map[string]any{"a": 10}}},
		// Wrapping TTLs.
		"min wrapping TTL without wrapping is denied":  {policies: []string{"wrap"}, op: read, path: "wrap/min"},
		"min wrapping TTL met":                         {policies: []string{"wrap"}, op: read, path: "wrap/min", wrap: time.Minute, want: true},
		"min wrapping TTL not met":                     {policies: []string{"wrap"}, op: read, path: "wrap/min", wrap: 30 * time.Second},
		"max wrapping TTL without wrapping is allowed": {policies: []string{"wrap"}, op: read, path: "wrap/max", want: true},
		"max wrapping TTL respected":                   {policies: []string{"wrap"}, op: read, path: "wrap/max", wrap: time.Hour, want: true},
		"max wrapping TTL exceeded":                    {policies: []string{"wrap"}, op: read, path: "wrap/max", wrap: time.Hour + time.Second},
		"merged max wrapping TTL takes the lower":      {policies: []string{"wrap", "wrap-tight"}, op: read, path: "wrap/max", wrap: 10 * time.Minute},
		"wrapping TTL inside both bounds":              {policies: []string{"wrap"}, op: read, path: "wrap/both", wrap: 5 * time.Minute, want: true},
		"wrapping TTL above both bounds":               {policies: []string{"wrap"}, op: read, path: "wrap/both", wrap: 11 * time.Minute},
		// Legacy policy values.
		"legacy read grants read":            {policies: []string{"legacy"}, op: read, path: "old/read", want: true},
		"legacy read grants list":            {policies: []string{"legacy"}, op: list, path: "old/read", want: true},
		"legacy read refuses update":         {policies: []string{"legacy"}, op: update, path: "old/read"},
		"legacy write grants delete":         {policies: []string{"legacy"}, op: del, path: "old/write", want: true},
		"legacy write does not grant patch":  {policies: []string{"legacy"}, op: patch, path: "old/write"},
		"legacy deny refuses read":           {policies: []string{"legacy"}, op: read, path: "old/deny"},
		"legacy sudo grants create and sudo": {policies: []string{"legacy"}, op: create, path: "old/sudo", want: true, sudo: true},
		// Priority between overlapping patterns.
		"later first wildcard wins: prio/a/* over prio/+/x": {policies: []string{"priority"}, op: update, path: "prio/a/x", want: true},
		"later first wildcard wins: plus rule loses":        {policies: []string{"priority"}, op: read, path: "prio/a/x"},
		"later first plus wins: prio/b/+ over prio/+/y":     {policies: []string{"priority"}, op: del, path: "prio/b/y", want: true},
		"ending in * loses: prio/c/+ over prio/c/*":         {policies: []string{"priority"}, op: list, path: "prio/c/z/", want: true},
		"ending in * loses: prio/c/+ read of prio/c/z":      {policies: []string{"priority"}, op: patch, path: "prio/c/z"},
		"more plus loses: prio/+/e/f over prio/+/+/f":       {policies: []string{"priority"}, op: read, path: "prio/q/e/f", want: true},
		"shorter loses: prio/+/gg* over prio/+/g*":          {policies: []string{"priority"}, op: update, path: "prio/q/ggg", want: true},
		"shorter glob applies when longer does not match":   {policies: []string{"priority"}, op: read, path: "prio/q/gx", want: true},
		"plain glob is the fallback":                        {policies: []string{"priority", "prio-star"}, op: read, path: "prio/zzz", sudo: true},
		"glob at the same position beats a plus glob":       {policies: []string{"priority", "prio-star"}, op: update, path: "prio/q/ggg", sudo: true},
		// Root.
		"root allows anything":                    {policies: []string{RootName}, op: del, path: "sys/anything", want: true, sudo: true},
		"root among others still allows anything": {policies: []string{"denier", RootName}, op: read, path: "secret/x", want: true, sudo: true},
		// Templates.
		"template renders entity name":                  {policies: []string{"template"}, entity: alice, op: create, path: "users/alice/notes", want: true},
		"template does not grant other users":           {policies: []string{"template"}, entity: alice, op: read, path: "users/bob/notes"},
		"template renders metadata":                     {policies: []string{"template"}, entity: alice, op: read, path: "meta/blue", want: true},
		"template renders alias name":                   {policies: []string{"template"}, entity: alice, op: read, path: "alias/al", want: true},
		"template renders entity id":                    {policies: []string{"template"}, entity: alice, op: read, path: "ids/e-1", want: true},
		"template without entity drops the rule":        {policies: []string{"template"}, op: read, path: "ids/"},
		"malicious glob name is refused, not widened":   {policies: []string{"template"}, entity: evilGlob, op: read, path: "users/bob/notes"},
		"malicious glob name literal path also refused": {policies: []string{"template"}, entity: evilGlob, op: read, path: "users/*/notes"},
		"malicious plus metadata is refused":            {policies: []string{"template"}, entity: evilGlob, op: read, path: "meta/x"},
		"malicious slash name is refused":               {policies: []string{"template"}, entity: evilSlash, op: read, path: "users/a/b/c"},
		"empty metadata value is refused":               {policies: []string{"template"}, entity: evilSlash, op: read, path: "meta/"},
		"missing alias is refused":                      {policies: []string{"template"}, entity: evilGlob, op: read, path: "alias/"},
	}
	if len(tests) < 60 {
		t.Fatalf("decision table has %d cases, want at least 60", len(tests))
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			a := compile(t, tc.policies, tc.entity)
			d := a.Allowed(tc.op, tc.path, tc.params, tc.wrap)
			if d.Allowed != tc.want || d.Sudo != tc.sudo {
				t.Errorf("Allowed(%s, %q) = %+v, want allowed=%v sudo=%v", tc.op, tc.path, d, tc.want, tc.sudo)
			}
			if !d.Allowed && d.Reason == "" {
				t.Errorf("denial without a reason")
			}
		})
	}
}

func TestCapabilities(t *testing.T) {
	tests := map[string]struct {
		policies []string
		path     string
		want     []string
	}{
		"root":                       {policies: []string{RootName}, path: "any/thing", want: []string{"root"}},
		"nothing matches":            {policies: []string{"glob"}, path: "other", want: []string{"deny"}},
		"sorted names from glob":     {policies: []string{"glob", "writer"}, path: "secret/x", want: []string{"create", "list", "read", "update"}},
		"explicit deny":              {policies: []string{"glob", "deny-ab"}, path: "secret/a/b", want: []string{"deny"}},
		"sudo listed":                {policies: []string{"sudo"}, path: "sys/seal", want: []string{"sudo", "update"}},
		"trailing slash falls back":  {policies: []string{"legacy"}, path: "old/sudo/", want: []string{"create", "delete", "list", "read", "sudo", "update"}},
		"empty capabilities is deny": {policies: []string{"glob"}, path: "secret", want: []string{"deny"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := compile(t, tc.policies, nil).Capabilities(tc.path)
			if !slices.Equal(got, tc.want) {
				t.Errorf("Capabilities(%q) = %q, want %q", tc.path, got, tc.want)
			}
		})
	}
}

func TestAllowedDoesNotAllocate(t *testing.T) {
	a := compile(t, []string{"glob", "plus", "priority", "params"}, nil)
	checks := map[string]struct {
		op   logical.Operation
		path string
	}{
		"exact":  {logical.UpdateOperation, "secret/app/config"},
		"prefix": {logical.ReadOperation, "secret/a/b/c"},
		"plus":   {logical.ReadOperation, "team/red/config"},
		"list":   {logical.ListOperation, "secret/a/"},
		"miss":   {logical.ReadOperation, "nowhere/at/all"},
	}
	for name, c := range checks {
		t.Run(name, func(t *testing.T) {
			if n := testing.AllocsPerRun(100, func() { a.Allowed(c.op, c.path, nil, 0) }); n != 0 {
				t.Errorf("Allowed allocates %v times per call", n)
			}
		})
	}
}

func TestHasMountAccess(t *testing.T) {
	tests := map[string]struct {
		policies []string
		mount    string
		want     bool
	}{
		"root sees every mount":        {policies: []string{RootName}, mount: "anything/", want: true},
		"glob over the mount":          {policies: []string{"glob"}, mount: "secret/", want: true},
		"bare glob covers the mount":   {policies: []string{"bare-glob"}, mount: "secret/", want: true},
		"exact rule below the mount":   {policies: []string{"deny-ab", "sudo"}, mount: "sys/", want: true},
		"nothing for another mount":    {policies: []string{"glob"}, mount: "transit/", want: false},
		"deny grants nothing":          {policies: []string{"denier"}, mount: "secret/", want: false},
		"only a deny below the mount":  {policies: []string{"deny-ab"}, mount: "secret/", want: false},
		"plus rule below the mount":    {policies: []string{"plus"}, mount: "team/", want: true},
		"plus rule of another mount":   {policies: []string{"plus"}, mount: "teams/", want: false},
		"plus rule on a nested mount":  {policies: []string{"plus"}, mount: "team/x/", want: true},
		"plus rule mismatching mount":  {policies: []string{"plus"}, mount: "team/admin/other/x/", want: false},
		"list plus under the mount":    {policies: []string{"list-plus"}, mount: "secret/", want: true},
		"prefix rule deeper in mount":  {policies: []string{"writer"}, mount: "secret/", want: true},
		"mount-shaped prefix mismatch": {policies: []string{"glob"}, mount: "secretx/", want: false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := compile(t, tc.policies, nil).HasMountAccess(tc.mount); got != tc.want {
				t.Errorf("HasMountAccess(%q) = %v, want %v", tc.mount, got, tc.want)
			}
		})
	}
}
