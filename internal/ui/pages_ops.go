package ui

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/hashicorp/vault/api"
)

type opsMount struct {
	Path, Type, Description, DefaultTTL, MaxTTL, Version string
	Auth                                                 bool
}

type opsMountsPage struct {
	Mounts []opsMount
	Error  string
}

// opsMounts lists secrets engines and auth methods, and enables, disables
// and tunes them.
func (c *rc) opsMounts() error {
	sys := c.client.Sys()
	if c.r.Method == http.MethodPost {
		p, ok := cleanPath(c.form("path"))
		p = strings.TrimSuffix(p, "/")
		if !ok || p == "" {
			return c.badInput("Give a mount path.")
		}
		auth := c.form("kind") == "auth"
		prefix := ""
		if auth {
			prefix = "auth/"
		}
		var err error
		switch c.form("action") {
		case "enable":
			typ := c.form("type")
			if typ == "" {
				return c.badInput("Choose a type.")
			}
			if auth {
				c.path, c.op = "sys/auth/"+p, "update"
				err = sys.EnableAuthWithOptionsWithContext(c.ctx, p, &api.EnableAuthOptions{Type: typ, Description: c.form("description")})
			} else {
				in := &api.MountInput{Type: typ, Description: c.form("description")}
				if typ == "kv-v1" {
					in.Type, in.Options = "kv", map[string]string{"version": "1"}
				}
				c.path, c.op = "sys/mounts/"+p, "update"
				err = sys.MountWithContext(c.ctx, p, in)
			}
		case "disable":
			if auth {
				c.path, c.op = "sys/auth/"+p, "delete"
				err = sys.DisableAuthWithContext(c.ctx, p)
			} else {
				c.path, c.op = "sys/mounts/"+p, "delete"
				err = sys.UnmountWithContext(c.ctx, p)
			}
		case "tune":
			cfg := api.MountConfigInput{DefaultLeaseTTL: c.form("default_ttl"), MaxLeaseTTL: c.form("max_ttl")}
			if d := c.form("description"); d != "" {
				cfg.Description = &d
			}
			c.path, c.op = "sys/mounts/"+prefix+p+"/tune", "update"
			err = sys.TuneMountWithContext(c.ctx, prefix+p, cfg)
		default:
			return c.badInput("Unknown action.")
		}
		if err != nil {
			if msgs, ok := badRequest(err); ok {
				c.render(http.StatusBadRequest, "error", "Could not change the mount", errorPage{Messages: msgs})
				return nil
			}
			return err
		}
		return c.done("/ui/ops/mounts", "Done: "+c.form("action")+" "+prefix+p+".")
	}
	c.path, c.op = "sys/mounts", "read"
	mounts, err := sys.ListMountsWithContext(c.ctx)
	if err != nil {
		return err
	}
	var page opsMountsPage
	for p, m := range mounts {
		page.Mounts = append(page.Mounts, opsMount{Path: strings.TrimSuffix(p, "/"), Type: m.Type, Description: m.Description,
			DefaultTTL: ttl(m.Config.DefaultLeaseTTL), MaxTTL: ttl(m.Config.MaxLeaseTTL), Version: m.Options["version"]})
	}
	c.path, c.op = "sys/auth", "read"
	auths, err := sys.ListAuthWithContext(c.ctx)
	if err != nil {
		return err
	}
	for p, m := range auths {
		page.Mounts = append(page.Mounts, opsMount{Path: strings.TrimSuffix(p, "/"), Type: m.Type, Description: m.Description, Auth: true,
			DefaultTTL: ttl(m.Config.DefaultLeaseTTL), MaxTTL: ttl(m.Config.MaxLeaseTTL)})
	}
	sort.Slice(page.Mounts, func(i, j int) bool {
		a, b := page.Mounts[i], page.Mounts[j]
		if a.Auth != b.Auth {
			return !a.Auth
		}
		return a.Path < b.Path
	})
	return c.ok("ops-mounts", "Mounts", page)
}

func ttl(s int) string {
	if s == 0 {
		return "system default"
	}
	return fmt.Sprintf("%ds", s)
}

type auditRow struct {
	Path, Type, Description, Options string
}

// opsAudit lists audit devices and enables file devices or disables any.
func (c *rc) opsAudit() error {
	sys := c.client.Sys()
	if c.r.Method == http.MethodPost {
		p, ok := cleanPath(c.form("path"))
		p = strings.TrimSuffix(p, "/")
		if !ok || p == "" {
			return c.badInput("Give a device path.")
		}
		var err error
		switch c.form("action") {
		case "enable":
			opts := map[string]string{}
			if fp := c.form("file_path"); fp != "" {
				opts["file_path"] = fp
			}
			c.path, c.op = "sys/audit/"+p, "update"
			err = sys.EnableAuditWithOptionsWithContext(c.ctx, p, &api.EnableAuditOptions{Type: c.form("type"), Description: c.form("description"), Options: opts})
		case "disable":
			c.path, c.op = "sys/audit/"+p, "delete"
			err = sys.DisableAuditWithContext(c.ctx, p)
		default:
			return c.badInput("Unknown action.")
		}
		if err != nil {
			if msgs, ok := badRequest(err); ok {
				c.render(http.StatusBadRequest, "error", "Could not change the audit device", errorPage{Messages: msgs})
				return nil
			}
			return err
		}
		return c.done("/ui/ops/audit", "Done: "+c.form("action")+" "+p+".")
	}
	c.path, c.op = "sys/audit", "read"
	devs, err := sys.ListAuditWithContext(c.ctx)
	if err != nil {
		return err
	}
	var rows []auditRow
	for p, d := range devs {
		var opts []string
		for k, v := range d.Options {
			opts = append(opts, k+"="+v)
		}
		sort.Strings(opts)
		rows = append(rows, auditRow{Path: strings.TrimSuffix(p, "/"), Type: d.Type, Description: d.Description, Options: strings.Join(opts, " ")})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Path < rows[j].Path })
	return c.ok("ops-audit", "Audit devices", rows)
}

type leasePage struct {
	LeaseID string
	Rows    []kvPair
	Error   string
}

// opsLeases looks up and revokes a lease by ID (in the form body).
func (c *rc) opsLeases() error {
	lp := leasePage{}
	if c.r.Method == http.MethodPost {
		lp.LeaseID = c.form("lease_id")
		if lp.LeaseID == "" {
			lp.Error = "Enter a lease ID."
			c.render(http.StatusBadRequest, "ops-leases", "Leases", lp)
			return nil
		}
		var err error
		if c.form("action") == "revoke" {
			c.path, c.op = "sys/leases/revoke", "update"
			if err = c.client.Sys().RevokeWithContext(c.ctx, lp.LeaseID); err == nil {
				return c.done("/ui/ops/leases", "Revoked the lease.")
			}
		} else {
			c.path, c.op = "sys/leases/lookup", "update"
			var sec *api.Secret
			sec, err = c.client.Logical().WriteWithContext(c.ctx, "sys/leases/lookup", map[string]any{"lease_id": lp.LeaseID})
			if err == nil && sec != nil {
				for k, v := range sec.Data {
					lp.Rows = append(lp.Rows, kvPair{Key: k, Value: valueString(v)})
				}
				sort.Slice(lp.Rows, func(i, j int) bool { return lp.Rows[i].Key < lp.Rows[j].Key })
			}
		}
		if err != nil {
			if msgs, ok := badRequest(err); ok {
				lp.Error = strings.Join(msgs, "; ")
				c.render(http.StatusBadRequest, "ops-leases", "Leases", lp)
				return nil
			}
			return err
		}
	}
	return c.ok("ops-leases", "Leases", lp)
}

type metricsPage struct {
	Sealed      bool
	Version     string
	ClusterName string
	StorageType string
	Requests    int64
	MeanMillis  string
	Leases      string
	Rows        []kvPair
}

// metricName is a metric's name with its labels, as Prometheus writes it.
func metricName(m map[string]any) string {
	name := str(m["Name"])
	labels, _ := m["Labels"].(map[string]any)
	if len(labels) == 0 {
		return name
	}
	var parts []string
	for k, v := range labels {
		parts = append(parts, k+"="+fmt.Sprint(v))
	}
	sort.Strings(parts)
	return name + "{" + strings.Join(parts, ",") + "}"
}

// opsMetrics summarises seal state and the server's counters and gauges.
func (c *rc) opsMetrics() error {
	var mp metricsPage
	st, err := c.client.Sys().SealStatusWithContext(c.ctx)
	if err != nil {
		return err
	}
	mp.Sealed, mp.Version, mp.ClusterName, mp.StorageType = st.Sealed, st.Version, st.ClusterName, st.StorageType
	c.path, c.op = "sys/metrics", "read"
	resp, err := c.client.Logical().ReadRawWithContext(c.ctx, "sys/metrics")
	if resp != nil {
		defer resp.Body.Close()
	}
	if err != nil {
		return err
	}
	var snap struct {
		Gauges   []map[string]any
		Counters []map[string]any
		Samples  []map[string]any
	}
	if err := resp.DecodeJSON(&snap); err != nil {
		return err
	}
	var sum float64
	for _, g := range snap.Gauges {
		if str(g["Name"]) == "vault_expire_num_leases" {
			mp.Leases = valueString(g["Value"])
		}
		mp.Rows = append(mp.Rows, kvPair{Key: metricName(g), Value: valueString(g["Value"])})
	}
	for _, m := range snap.Counters {
		mp.Rows = append(mp.Rows, kvPair{Key: metricName(m), Value: valueString(m["Count"])})
	}
	for _, m := range snap.Samples {
		n, _ := m["Count"].(float64)
		total, _ := m["Sum"].(float64)
		if str(m["Name"]) == "vault_core_handle_request" {
			mp.Requests += int64(n)
			sum += total
		}
		mean, _ := m["Mean"].(float64)
		mp.Rows = append(mp.Rows, kvPair{Key: metricName(m), Value: fmt.Sprintf("%d observations, mean %.3f ms", int64(n), mean*1000)})
	}
	if mp.Requests > 0 {
		mp.MeanMillis = fmt.Sprintf("%.3f", sum/float64(mp.Requests)*1000)
	}
	sort.Slice(mp.Rows, func(i, j int) bool { return mp.Rows[i].Key < mp.Rows[j].Key })
	return c.ok("ops-metrics", "Metrics", mp)
}
