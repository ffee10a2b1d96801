package ui

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// cleanPath trims slashes from a user-given path and refuses empty, "." and
// ".." segments, so no form value can steer the UI's API call elsewhere.
func cleanPath(p string) (string, bool) {
	trailing := strings.HasSuffix(p, "/")
	p = strings.Trim(strings.TrimSpace(p), "/")
	if p == "" {
		return "", true
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." || strings.ContainsAny(seg, "?#%\\") {
			return "", false
		}
	}
	if trailing {
		p += "/"
	}
	return p, true
}

// kvMount is a KV mount and its version.
type kvMount struct {
	Mount string // without slashes
	V2    bool
}

func (k kvMount) dataPath(p string) string {
	if k.V2 {
		return k.Mount + "/data/" + p
	}
	return k.Mount + "/" + p
}

func (k kvMount) listPath(prefix string) string {
	if k.V2 {
		return k.Mount + "/metadata/" + prefix
	}
	return k.Mount + "/" + prefix
}

// badInput renders a 400 for a malformed parameter.
func (c *rc) badInput(msg string) error {
	c.render(http.StatusBadRequest, "error", "Bad request", errorPage{Messages: []string{msg}})
	return nil
}

// kvMountOf looks up the mount named by the "mount" parameter.
func (c *rc) kvMountOf() (kvMount, error) {
	m, ok := cleanPath(c.r.FormValue("mount"))
	m = strings.TrimSuffix(m, "/")
	if !ok || m == "" {
		return kvMount{}, errBadMount
	}
	c.path, c.op = "sys/internal/ui/mounts/"+m, "read"
	sec, err := c.client.Logical().ReadWithContext(c.ctx, "sys/internal/ui/mounts/"+m)
	if err != nil {
		return kvMount{}, err
	}
	if sec == nil || sec.Data == nil {
		return kvMount{}, errBadMount
	}
	typ, _ := sec.Data["type"].(string)
	if typ != "kv" && typ != "generic" {
		return kvMount{}, errBadMount
	}
	k := kvMount{Mount: m}
	if opts, ok := sec.Data["options"].(map[string]any); ok {
		k.V2 = fmt.Sprint(opts["version"]) == "2"
	}
	return k, nil
}

var errBadMount = errors.New("not a KV mount")

// kvCommon is what every KV page shows in its header.
type kvCommon struct {
	Mount  string
	V2     bool
	Path   string // secret path or folder ("" for the mount's root)
	Crumbs []crumb
}

type crumb struct{ Name, Path string }

func common(k kvMount, p string) kvCommon {
	kc := kvCommon{Mount: k.Mount, V2: k.V2, Path: p}
	acc := ""
	for _, seg := range strings.Split(strings.TrimSuffix(p, "/"), "/") {
		if seg == "" {
			continue
		}
		acc += seg + "/"
		kc.Crumbs = append(kc.Crumbs, crumb{Name: seg, Path: acc})
	}
	if n := len(kc.Crumbs); n > 0 && !strings.HasSuffix(p, "/") {
		kc.Crumbs[n-1].Path = strings.TrimSuffix(kc.Crumbs[n-1].Path, "/")
	}
	return kc
}

// withMount runs fn with the request's KV mount and cleaned path.
func (c *rc) withMount(fn func(k kvMount, p string) error) error {
	k, err := c.kvMountOf()
	if errors.Is(err, errBadMount) {
		return c.badInput("Choose a KV mount.")
	}
	if err != nil {
		return err
	}
	p, ok := cleanPath(c.r.FormValue("path"))
	if !ok {
		return c.badInput("That path is not valid: no empty, \".\" or \"..\" segments, and no ? # % or \\.")
	}
	return fn(k, p)
}

type mountRow struct {
	Path, Type, Description string
	KV                      bool
}

// mountsList shows the secrets engines the token can see.
func (c *rc) mountsList() error {
	c.path, c.op = "sys/internal/ui/mounts", "read"
	sec, err := c.client.Logical().ReadWithContext(c.ctx, "sys/internal/ui/mounts")
	if err != nil {
		return err
	}
	var rows []mountRow
	if sec != nil {
		secrets, _ := sec.Data["secret"].(map[string]any)
		for p, v := range secrets {
			m, _ := v.(map[string]any)
			typ, _ := m["type"].(string)
			desc, _ := m["description"].(string)
			if typ == "system" || typ == "identity" || typ == "cubbyhole" {
				continue
			}
			rows = append(rows, mountRow{Path: strings.TrimSuffix(p, "/"), Type: typ, Description: desc, KV: typ == "kv" || typ == "generic"})
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Path < rows[j].Path })
	return c.ok("mounts-list", "Secrets", rows)
}

type listPage struct {
	kvCommon
	Keys []listKey
}

type listKey struct {
	Name, Path string
	Folder     bool
}

type kvPair struct{ Key, Value string }

type secretPage struct {
	kvCommon
	Pairs     []kvPair
	Version   int
	Current   int
	Created   string
	Deleted   bool
	Destroyed bool
	Custom    []kvPair
	Raw       string
	// data is the secret as read, numbers kept as the server sent them,
	// for a rollback to write back unchanged.
	data map[string]any
	// Typed reports a value that is not a string (number, list, object),
	// which only the JSON editor keeps as it is.
	Typed bool
	Can   actions
}

// actions are the buttons a secret's page offers: those the token's
// policies allow (the server decides anyway).
type actions struct {
	Edit, History, Delete, Undelete, Destroy, Purge, Move bool
}

// capsOf returns the session token's capabilities on each path
// (sys/capabilities-self). If the server will not say, every path reports
// "root", so the page offers every action and the server decides.
func (c *rc) capsOf(paths ...string) map[string]map[string]bool {
	out := make(map[string]map[string]bool, len(paths))
	sec, err := c.client.Logical().WriteWithContext(c.ctx, "sys/capabilities-self", map[string]any{"paths": paths})
	for _, p := range paths {
		set := map[string]bool{}
		var list []any
		if err == nil && sec != nil {
			list, _ = sec.Data[p].([]any)
		}
		if err != nil || sec == nil {
			set["root"] = true
		}
		for _, v := range list {
			set[str(v)] = true
		}
		out[p] = set
	}
	return out
}

// has reports whether caps grants any of want (root grants everything).
func has(caps map[string]bool, want ...string) bool {
	if caps["root"] {
		return true
	}
	for _, w := range want {
		if caps[w] {
			return true
		}
	}
	return false
}

func (c *rc) secretActions(k kvMount, p string) actions {
	data, meta := k.dataPath(p), k.Mount+"/metadata/"+p
	del, undel, destroy := k.Mount+"/delete/"+p, k.Mount+"/undelete/"+p, k.Mount+"/destroy/"+p
	caps := c.capsOf(data, meta, del, undel, destroy, "sys/kv/move")
	a := actions{
		Edit:   has(caps[data], "create", "update"),
		Delete: has(caps[data], "delete") || (k.V2 && has(caps[del], "update")),
		Move:   has(caps["sys/kv/move"], "sudo") && has(caps["sys/kv/move"], "update"),
	}
	if k.V2 {
		a.History = has(caps[meta], "read")
		a.Undelete = has(caps[undel], "update")
		a.Destroy = has(caps[destroy], "update")
		a.Purge = has(caps[meta], "delete")
	}
	return a
}

// kvBrowse lists a folder or shows a secret.
func (c *rc) kvBrowse() error {
	return c.withMount(func(k kvMount, p string) error {
		if p == "" || strings.HasSuffix(p, "/") {
			return c.kvList(k, p)
		}
		return c.kvView(k, p)
	})
}

func (c *rc) kvList(k kvMount, p string) error {
	c.path, c.op = k.listPath(p), "list"
	sec, err := c.client.Logical().ListWithContext(c.ctx, k.listPath(p))
	if err != nil {
		return err
	}
	lp := listPage{kvCommon: common(k, p)}
	if sec != nil {
		keys, _ := sec.Data["keys"].([]any)
		for _, v := range keys {
			name, _ := v.(string)
			lp.Keys = append(lp.Keys, listKey{Name: name, Path: p + name, Folder: strings.HasSuffix(name, "/")})
		}
	}
	return c.ok("kv-list", k.Mount+"/"+p, lp)
}

// pairs renders a secret's data as sorted key/value strings.
func pairs(data map[string]any) []kvPair {
	out := make([]kvPair, 0, len(data))
	for key, v := range data {
		out = append(out, kvPair{Key: key, Value: valueString(v)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func valueString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// readSecret reads a secret (a version of it for KV v2; 0 is the latest).
func (c *rc) readSecret(k kvMount, p string, version int) (*secretPage, error) {
	sp := &secretPage{kvCommon: common(k, p)}
	c.path, c.op = k.dataPath(p), "read"
	var q map[string][]string
	if version > 0 {
		q = map[string][]string{"version": {strconv.Itoa(version)}}
	}
	sec, err := c.client.Logical().ReadWithDataWithContext(c.ctx, k.dataPath(p), q)
	if err != nil {
		return nil, err
	}
	if sec == nil {
		return nil, nil
	}
	data := sec.Data
	if k.V2 {
		data, _ = sec.Data["data"].(map[string]any)
		if md, ok := sec.Data["metadata"].(map[string]any); ok {
			sp.Version, _ = strconv.Atoi(fmt.Sprint(md["version"]))
			sp.Created, _ = md["created_time"].(string)
			dt, _ := md["deletion_time"].(string)
			sp.Deleted = dt != ""
			sp.Destroyed, _ = md["destroyed"].(bool)
			if cm, ok := md["custom_metadata"].(map[string]any); ok {
				sp.Custom = pairs(cm)
			}
		}
	}
	sp.data = data
	sp.Pairs = pairs(data)
	for _, v := range data {
		if _, ok := v.(string); !ok {
			sp.Typed = true
		}
	}
	if data != nil {
		raw, _ := json.MarshalIndent(data, "", "  ")
		sp.Raw = string(raw)
	}
	return sp, nil
}

func (c *rc) kvView(k kvMount, p string) error {
	version, _ := strconv.Atoi(c.r.FormValue("version"))
	sp, err := c.readSecret(k, p, version)
	if err != nil {
		return err
	}
	if sp == nil {
		c.render(http.StatusNotFound, "error", "Not found", errorPage{Messages: []string{"There is no secret at " + k.Mount + "/" + p + "."}})
		return nil
	}
	sp.Can = c.secretActions(k, p)
	// Only an older version's page says "of N": the current one needs no
	// metadata read.
	if k.V2 && version > 0 && sp.Can.History {
		if md, err := c.metadata(k, p); err == nil && md != nil {
			sp.Current = md.Current
		}
	}
	return c.ok("kv-view", k.Mount+"/"+p, sp)
}

// metadata of a KV v2 secret.
type metadata struct {
	Current, Oldest, MaxVersions int
	CASRequired                  bool
	DeleteAfter                  string
	Custom                       []kvPair
	Versions                     []versionRow
}

type versionRow struct {
	Version            int
	Created, Deleted   string
	Destroyed, Current bool
}

func (c *rc) metadata(k kvMount, p string) (*metadata, error) {
	c.path, c.op = k.Mount+"/metadata/"+p, "read"
	sec, err := c.client.Logical().ReadWithContext(c.ctx, k.Mount+"/metadata/"+p)
	if err != nil || sec == nil {
		return nil, err
	}
	d := sec.Data
	md := &metadata{}
	md.Current, _ = strconv.Atoi(fmt.Sprint(d["current_version"]))
	md.Oldest, _ = strconv.Atoi(fmt.Sprint(d["oldest_version"]))
	md.MaxVersions, _ = strconv.Atoi(fmt.Sprint(d["max_versions"]))
	md.CASRequired, _ = d["cas_required"].(bool)
	md.DeleteAfter, _ = d["delete_version_after"].(string)
	if cm, ok := d["custom_metadata"].(map[string]any); ok {
		md.Custom = pairs(cm)
	}
	vs, _ := d["versions"].(map[string]any)
	for key, v := range vs {
		n, err := strconv.Atoi(key)
		if err != nil {
			continue
		}
		m, _ := v.(map[string]any)
		row := versionRow{Version: n, Current: n == md.Current}
		row.Created, _ = m["created_time"].(string)
		row.Deleted, _ = m["deletion_time"].(string)
		row.Destroyed, _ = m["destroyed"].(bool)
		md.Versions = append(md.Versions, row)
	}
	sort.Slice(md.Versions, func(i, j int) bool { return md.Versions[i].Version > md.Versions[j].Version })
	return md, nil
}

type editPage struct {
	kvCommon
	New   bool
	Mode  string // "rows" or "json"
	Rows  []kvPair
	JSON  string
	CAS   string
	Error string
}

// kvEdit creates or edits a secret, as key/value rows or as JSON.
func (c *rc) kvEdit() error {
	return c.withMount(func(k kvMount, p string) error {
		// A folder's path ("team/") starts a new secret's path below it.
		if strings.HasSuffix(p, "/") && c.r.Method != http.MethodPost {
			c.r.Form.Set("new", "1")
		}
		ep := editPage{kvCommon: common(k, p), Mode: "rows", New: c.r.FormValue("new") != ""}
		if c.r.Method != http.MethodPost {
			if p != "" && !ep.New {
				sp, err := c.readSecret(k, p, 0)
				if err != nil {
					return err
				}
				if sp != nil {
					ep.Rows, ep.JSON = sp.Pairs, sp.Raw
					if sp.Typed {
						ep.Mode = "json"
					}
					if k.V2 {
						ep.CAS = strconv.Itoa(sp.Version)
					}
				}
			}
			if ep.JSON == "" {
				ep.JSON = "{\n  \n}"
			}
			if ep.CAS == "" && k.V2 {
				ep.CAS = "0"
			}
			ep.New = ep.New || p == "" || len(ep.Rows) == 0
			ep.Rows = append(ep.Rows, kvPair{}, kvPair{})
			return c.ok("kv-edit", "Edit "+k.Mount+"/"+p, ep)
		}
		ep.Mode, ep.CAS, ep.JSON = c.form("mode"), c.form("cas"), c.r.PostFormValue("json")
		keys, values := c.r.PostForm["key"], c.r.PostForm["value"]
		for i := range keys {
			v := ""
			if i < len(values) {
				v = values[i]
			}
			ep.Rows = append(ep.Rows, kvPair{Key: keys[i], Value: v})
		}
		fail := func(msg string) error {
			ep.Error = msg
			ep.Rows = append(ep.Rows, kvPair{})
			c.render(http.StatusBadRequest, "kv-edit", "Edit "+k.Mount+"/"+p, ep)
			return nil
		}
		if p == "" || strings.HasSuffix(p, "/") {
			return fail("Give the secret a path that does not end in \"/\".")
		}
		data := map[string]any{}
		if ep.Mode == "json" {
			// Numbers stay as typed: a float64 would round integers
			// beyond 2^53.
			dec := json.NewDecoder(strings.NewReader(ep.JSON))
			dec.UseNumber()
			if err := dec.Decode(&data); err != nil {
				return fail("The JSON is not an object: " + err.Error())
			}
			if dec.More() {
				return fail("The JSON is not an object: trailing data after it")
			}
		} else {
			for _, row := range ep.Rows {
				key := strings.TrimSpace(row.Key)
				if key == "" {
					continue
				}
				if _, dup := data[key]; dup {
					return fail("The key " + strconv.Quote(key) + " appears twice.")
				}
				data[key] = row.Value
			}
		}
		if len(data) == 0 {
			return fail("A secret needs at least one key.")
		}
		body := data
		if k.V2 {
			body = map[string]any{"data": data}
			if cas, err := strconv.Atoi(ep.CAS); err == nil && ep.CAS != "" {
				body["options"] = map[string]any{"cas": cas}
			}
		}
		c.path, c.op = k.dataPath(p), "update"
		if _, err := c.client.Logical().WriteWithContext(c.ctx, k.dataPath(p), body); err != nil {
			if msgs, ok := badRequest(err); ok {
				msg := strings.Join(msgs, "; ")
				if strings.Contains(msg, "check-and-set") {
					msg = "Someone else changed this secret since you opened it (" + msg + "). Reload to see their version."
				}
				return fail(msg)
			}
			return err
		}
		return c.done(secretURL(k, p, 0), "Saved "+k.Mount+"/"+p+".")
	})
}

func secretURL(k kvMount, p string, version int) string {
	u := "/ui/kv?mount=" + url.QueryEscape(k.Mount) + "&path=" + url.QueryEscape(p)
	if version > 0 {
		u += "&version=" + strconv.Itoa(version)
	}
	return u
}

type historyPage struct {
	kvCommon
	*metadata
}

func (c *rc) kvHistory() error {
	return c.withMount(func(k kvMount, p string) error {
		if !k.V2 {
			return c.badInput("Only KV version 2 keeps a history.")
		}
		md, err := c.metadata(k, p)
		if err != nil {
			return err
		}
		if md == nil {
			c.render(http.StatusNotFound, "error", "Not found", errorPage{Messages: []string{"There is no secret at " + k.Mount + "/" + p + "."}})
			return nil
		}
		return c.ok("kv-history", "History of "+k.Mount+"/"+p, historyPage{kvCommon: common(k, p), metadata: md})
	})
}

type diffRow struct {
	Key, A, B string
	State     string // added, removed, changed, same
}

type diffPage struct {
	kvCommon
	A, B     int
	Rows     []diffRow
	Versions []versionRow
	Changes  int
}

// kvDiff compares two versions key by key.
func (c *rc) kvDiff() error {
	return c.withMount(func(k kvMount, p string) error {
		if !k.V2 {
			return c.badInput("Only KV version 2 keeps versions to compare.")
		}
		a, errA := strconv.Atoi(c.r.FormValue("a"))
		b, errB := strconv.Atoi(c.r.FormValue("b"))
		if errA != nil || errB != nil || a < 1 || b < 1 {
			return c.badInput("Choose two versions to compare.")
		}
		sa, err := c.readSecret(k, p, a)
		if err != nil {
			return err
		}
		sb, err := c.readSecret(k, p, b)
		if err != nil {
			return err
		}
		if sa == nil || sb == nil {
			return c.badInput("One of the versions has no data (deleted or destroyed).")
		}
		dp := diffPage{kvCommon: common(k, p), A: a, B: b}
		am, bm := map[string]string{}, map[string]string{}
		var keys []string
		for _, pr := range sa.Pairs {
			am[pr.Key] = pr.Value
			keys = append(keys, pr.Key)
		}
		for _, pr := range sb.Pairs {
			bm[pr.Key] = pr.Value
			if _, ok := am[pr.Key]; !ok {
				keys = append(keys, pr.Key)
			}
		}
		sort.Strings(keys)
		for _, key := range keys {
			av, inA := am[key]
			bv, inB := bm[key]
			row := diffRow{Key: key, A: av, B: bv, State: "same"}
			switch {
			case !inA:
				row.State = "added"
			case !inB:
				row.State = "removed"
			case av != bv:
				row.State = "changed"
			}
			if row.State != "same" {
				dp.Changes++
			}
			dp.Rows = append(dp.Rows, row)
		}
		if md, err := c.metadata(k, p); err == nil && md != nil {
			dp.Versions = md.Versions
		}
		return c.ok("kv-diff", "Compare versions", dp)
	})
}

// kvRollback writes an old version's data as the new current version.
func (c *rc) kvRollback() error {
	return c.withMount(func(k kvMount, p string) error {
		version, err := strconv.Atoi(c.form("version"))
		if err != nil || version < 1 || !k.V2 {
			return c.badInput("Choose a version to roll back to.")
		}
		md, err := c.metadata(k, p)
		if err != nil {
			return err
		}
		sp, err := c.readSecret(k, p, version)
		if err != nil {
			return err
		}
		if sp == nil || md == nil {
			return c.badInput("That version has no data (deleted or destroyed).")
		}
		data := sp.data
		if data == nil {
			data = map[string]any{}
		}
		c.path, c.op = k.dataPath(p), "update"
		body := map[string]any{"data": data, "options": map[string]any{"cas": md.Current}}
		if _, err := c.client.Logical().WriteWithContext(c.ctx, k.dataPath(p), body); err != nil {
			return err
		}
		return c.done(secretURL(k, p, 0), fmt.Sprintf("Rolled back: version %d is now a copy of version %d.", md.Current+1, version))
	})
}

// kvVersions deletes, undeletes or destroys versions, or deletes the
// secret with all its history.
func (c *rc) kvVersions() error {
	return c.withMount(func(k kvMount, p string) error {
		if p == "" || strings.HasSuffix(p, "/") {
			return c.badInput("Choose a secret.")
		}
		action := c.form("action")
		var versions []int
		for _, v := range strings.Split(c.form("versions"), ",") {
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
				versions = append(versions, n)
			}
		}
		lg := c.client.Logical()
		var err error
		next := secretURL(k, p, 0)
		switch {
		case action == "delete" && (!k.V2 || len(versions) == 0):
			c.path, c.op = k.dataPath(p), "delete"
			_, err = lg.DeleteWithContext(c.ctx, k.dataPath(p))
			if !k.V2 {
				next = "/ui/kv?mount=" + url.QueryEscape(k.Mount) + "&path=" + url.QueryEscape(parent(p))
			}
		case k.V2 && slices.Contains([]string{"delete", "undelete", "destroy"}, action):
			c.path, c.op = k.Mount+"/"+action+"/"+p, "update"
			_, err = lg.WriteWithContext(c.ctx, k.Mount+"/"+action+"/"+p, map[string]any{"versions": versions})
		case k.V2 && action == "purge":
			c.path, c.op = k.Mount+"/metadata/"+p, "delete"
			_, err = lg.DeleteWithContext(c.ctx, k.Mount+"/metadata/"+p)
			next = "/ui/kv?mount=" + url.QueryEscape(k.Mount) + "&path=" + url.QueryEscape(parent(p))
		default:
			return c.badInput("Unknown action.")
		}
		if err != nil {
			return err
		}
		if k.V2 && action != "purge" && len(versions) == 1 {
			next = secretURL(k, p, versions[0])
		}
		return c.done(next, "Done: "+action+" "+k.Mount+"/"+p+".")
	})
}

func parent(p string) string {
	if i := strings.LastIndex(strings.TrimSuffix(p, "/"), "/"); i >= 0 {
		return p[:i+1]
	}
	return ""
}

type metadataPage struct {
	kvCommon
	*metadata
	Rows  []kvPair
	Error string
}

// kvMetadata shows and edits a KV v2 secret's settings and custom metadata.
func (c *rc) kvMetadata() error {
	return c.withMount(func(k kvMount, p string) error {
		if !k.V2 || p == "" {
			return c.badInput("Only KV version 2 secrets have metadata.")
		}
		if c.r.Method == http.MethodPost {
			custom := map[string]any{}
			keys, values := c.r.PostForm["key"], c.r.PostForm["value"]
			for i, key := range keys {
				if key = strings.TrimSpace(key); key != "" && i < len(values) {
					custom[key] = values[i]
				}
			}
			body := map[string]any{"custom_metadata": custom}
			if mv, err := strconv.Atoi(c.form("max_versions")); err == nil {
				body["max_versions"] = mv
			}
			body["cas_required"] = c.form("cas_required") != ""
			if d := c.form("delete_version_after"); d != "" {
				body["delete_version_after"] = d
			}
			c.path, c.op = k.Mount+"/metadata/"+p, "update"
			if _, err := c.client.Logical().WriteWithContext(c.ctx, k.Mount+"/metadata/"+p, body); err != nil {
				if msgs, ok := badRequest(err); ok {
					md, _ := c.metadata(k, p)
					mp := metadataPage{kvCommon: common(k, p), metadata: md, Error: strings.Join(msgs, "; ")}
					if mp.metadata == nil {
						mp.metadata = &metadata{}
					}
					mp.Rows = append(pairsOf(keys, values), kvPair{})
					c.render(http.StatusBadRequest, "kv-metadata", "Metadata", mp)
					return nil
				}
				return err
			}
			return c.done("/ui/kv/metadata?mount="+url.QueryEscape(k.Mount)+"&path="+url.QueryEscape(p), "Metadata saved.")
		}
		md, err := c.metadata(k, p)
		if err != nil {
			return err
		}
		if md == nil {
			md = &metadata{}
		}
		mp := metadataPage{kvCommon: common(k, p), metadata: md, Rows: append(slices.Clone(md.Custom), kvPair{}, kvPair{})}
		return c.ok("kv-metadata", "Metadata", mp)
	})
}

func pairsOf(keys, values []string) []kvPair {
	out := make([]kvPair, 0, len(keys))
	for i, k := range keys {
		v := ""
		if i < len(values) {
			v = values[i]
		}
		out = append(out, kvPair{Key: k, Value: v})
	}
	return out
}

type movePage struct {
	kvCommon
	To    string
	Copy  bool
	Error string
}

// kvMove moves or copies a secret with its history (sys/kv/move).
func (c *rc) kvMove() error {
	return c.withMount(func(k kvMount, p string) error {
		if p == "" || strings.HasSuffix(p, "/") {
			return c.badInput("Choose a secret to move.")
		}
		mp := movePage{kvCommon: common(k, p), To: k.Mount + "/" + p}
		if c.r.Method != http.MethodPost {
			return c.ok("kv-move", "Move "+k.Mount+"/"+p, mp)
		}
		to, ok := cleanPath(c.form("to"))
		mp.To, mp.Copy = c.form("to"), c.form("copy") != ""
		if !ok || to == "" || strings.HasSuffix(to, "/") {
			mp.Error = "Give a destination like mount/path/to/secret."
			c.render(http.StatusBadRequest, "kv-move", "Move", mp)
			return nil
		}
		c.path, c.op = "sys/kv/move", "update"
		_, err := c.client.Logical().WriteWithContext(c.ctx, "sys/kv/move", map[string]any{"from": k.Mount + "/" + p, "to": to, "copy": mp.Copy})
		if err != nil {
			if msgs, ok := badRequest(err); ok {
				mp.Error = strings.Join(msgs, "; ")
				c.render(http.StatusBadRequest, "kv-move", "Move", mp)
				return nil
			}
			return err
		}
		mount, rest, _ := strings.Cut(to, "/")
		verb := "Moved"
		if mp.Copy {
			verb = "Copied"
		}
		return c.done("/ui/kv?mount="+url.QueryEscape(mount)+"&path="+url.QueryEscape(rest), verb+" to "+to+".")
	})
}

type searchPage struct {
	kvCommon
	Query    string
	Results  []listKey
	Next     string
	Searched bool
}

// searchPageSize is how many matches a search page shows.
const searchPageSize = 50

// kvSearch finds secrets by path across a mount: a recursive LIST with a
// filter, which the server filters by the caller's policies.
func (c *rc) kvSearch() error {
	return c.withMount(func(k kvMount, p string) error {
		sp := searchPage{kvCommon: common(k, ""), Query: c.form("q")}
		if sp.Query == "" {
			return c.ok("kv-search", "Search "+k.Mount, sp)
		}
		sp.Searched = true
		q := map[string][]string{"list": {"true"}, "recursive": {"true"}, "filter": {sp.Query}, "limit": {strconv.Itoa(searchPageSize)}}
		if after := c.r.FormValue("after"); after != "" {
			q["after"] = []string{after}
		}
		c.path, c.op = k.listPath(""), "list"
		sec, err := c.client.Logical().ReadWithDataWithContext(c.ctx, k.listPath(""), q)
		if err != nil {
			if msgs, ok := badRequest(err); ok {
				c.render(http.StatusBadRequest, "error", "Search failed", errorPage{Messages: msgs})
				return nil
			}
			return err
		}
		if sec != nil {
			keys, _ := sec.Data["keys"].([]any)
			for _, v := range keys {
				name, _ := v.(string)
				sp.Results = append(sp.Results, listKey{Name: name, Path: name})
			}
			if len(keys) == searchPageSize {
				sp.Next, _ = keys[len(keys)-1].(string)
			}
		}
		return c.ok("kv-search", "Search "+k.Mount, sp)
	})
}
