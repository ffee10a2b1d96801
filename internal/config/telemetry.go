package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/hcl/hcl/ast"
)

// DefaultPrometheusRetentionTime is how long Prometheus metrics are kept in
// memory when the telemetry stanza does not say, as in Vault.
const DefaultPrometheusRetentionTime = 24 * time.Hour

// Telemetry is the top-level telemetry { ... } stanza.
type Telemetry struct {
	// PrometheusRetentionTime is how long metrics are retained for the
	// Prometheus format of sys/metrics. Unset in the file means
	// DefaultPrometheusRetentionTime; an explicit 0 is kept and, as in Vault,
	// disables Prometheus metrics.
	PrometheusRetentionTime time.Duration
	// DisableHostname stops gauge names being prefixed with the host name.
	DisableHostname bool
}

// defaultTelemetry is the telemetry of a configuration without the stanza.
func defaultTelemetry() Telemetry {
	return Telemetry{PrometheusRetentionTime: DefaultPrometheusRetentionTime}
}

// telemetryKeys maps each implemented telemetry setting to the code storing
// it.
var telemetryKeys = map[string]func(t *Telemetry, v any) error{
	"prometheus_retention_time": func(t *Telemetry, v any) (err error) { t.PrometheusRetentionTime, err = asDuration(v); return err },
	"disable_hostname":          func(t *Telemetry, v any) (err error) { t.DisableHostname, err = asBool(v); return err },
}

// unsupportedTelemetry lists the other keys of Vault's telemetry stanza:
// common settings and those of each metrics sink.
var unsupportedTelemetry = set(
	"usage_gauge_period", "maximum_gauge_cardinality", "enable_hostname_label",
	"metrics_prefix", "lease_metrics_epsilon", "num_lease_metrics_buckets",
	"add_lease_metrics_namespace_labels", "add_mount_point_rollback_metrics",
	"filter_default", "prefix_filter",
	"statsite_address", "statsd_address",
	"dogstatsd_addr", "dogstatsd_tags",
	"circonus_api_token", "circonus_api_app", "circonus_api_url",
	"circonus_submission_interval", "circonus_submission_url",
	"circonus_check_id", "circonus_check_force_metric_activation",
	"circonus_check_instance_id", "circonus_check_search_tag",
	"circonus_check_display_name", "circonus_check_tags",
	"circonus_broker_id", "circonus_broker_select_tag",
	"stackdriver_project_id", "stackdriver_location", "stackdriver_namespace",
	"stackdriver_debug_logs",
)

// listenerTelemetryKeys maps the settings of a listener's telemetry block.
var listenerTelemetryKeys = map[string]func(l *Listener, v any) error{
	"unauthenticated_metrics_access": func(l *Listener, v any) (err error) { l.UnauthenticatedMetricsAccess, err = asBool(v); return err },
}

// telemetry reads the top-level stanza. As in Vault, a file may hold one,
// and a later file's stanza replaces an earlier one's as a whole.
func (d *decoder) telemetry(it *ast.ObjectItem, key string, declared map[string]bool) error {
	bodies, err := d.unlabeled(it, key, declared)
	if err != nil {
		return err
	}
	t := defaultTelemetry()
	for _, body := range bodies {
		err := d.attributes(body, "telemetry", func(it *ast.ObjectItem, name string, seen map[string]bool) error {
			lk := strings.ToLower(name)
			switch {
			case telemetryKeys[lk] != nil:
				return d.set(it, name, seen, func(v any) error { return telemetryKeys[lk](&t, v) })
			case unsupportedTelemetry[lk]:
				d.warn(it.Keys[0].Pos(), "telemetry: %q is not supported yet and is ignored", name)
				return nil
			}
			return fmt.Errorf("%s: %w %q in telemetry", at(d.name, it.Keys[0].Pos()), ErrUnknownKey, name)
		})
		if err != nil {
			return err
		}
	}
	d.cfg.Telemetry = t
	return nil
}

// listenerTelemetry reads telemetry { ... } inside a listener block.
func (d *decoder) listenerTelemetry(it *ast.ObjectItem, key string, l *Listener, declared map[string]bool) error {
	bodies, err := d.unlabeled(it, key, declared)
	if err != nil {
		return err
	}
	for _, body := range bodies {
		err := d.attributes(body, "listener telemetry", func(it *ast.ObjectItem, name string, seen map[string]bool) error {
			if store := listenerTelemetryKeys[strings.ToLower(name)]; store != nil {
				return d.set(it, name, seen, func(v any) error { return store(l, v) })
			}
			return fmt.Errorf("%s: %w %q in listener telemetry", at(d.name, it.Keys[0].Pos()), ErrUnknownKey, name)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// unlabeled returns the bodies of a block without a label, written
// name { ... } in HCL and {"name": {...}} or {"name": [{...}]} in JSON.
// declared records the blocks already read in the enclosing object, as
// Vault permits only one.
func (d *decoder) unlabeled(it *ast.ObjectItem, key string, declared map[string]bool) ([]*ast.ObjectList, error) {
	pos := it.Keys[0].Pos()
	lk := strings.ToLower(key)
	if declared[lk] {
		return nil, d.invalid(pos, key, fmt.Errorf("only one %s block is permitted", lk))
	}
	declared[lk] = true
	if len(it.Keys) != 1 {
		return nil, d.invalid(pos, key, fmt.Errorf("want a block without a label, as in %s { ... }", lk))
	}
	switch v := it.Val.(type) {
	case *ast.ObjectType:
		return []*ast.ObjectList{v.List}, nil
	case *ast.ListType:
		if len(v.List) > 1 {
			return nil, d.invalid(pos, key, fmt.Errorf("only one %s block is permitted", lk))
		}
		var out []*ast.ObjectList
		for _, elem := range v.List {
			obj, ok := elem.(*ast.ObjectType)
			if !ok {
				return nil, d.invalid(pos, key, fmt.Errorf("want a block, as in %s { ... }", lk))
			}
			out = append(out, obj.List)
		}
		return out, nil
	}
	return nil, d.invalid(pos, key, fmt.Errorf("want a block, as in %s { ... }", lk))
}

// attributes calls each for every item of body with its key name and a
// map shared across the body for repeat warnings.
func (d *decoder) attributes(body *ast.ObjectList, where string, each func(it *ast.ObjectItem, name string, seen map[string]bool) error) error {
	seen := make(map[string]bool)
	for _, it := range body.Items {
		if len(it.Keys) == 0 {
			return fmt.Errorf("%s: %w: item without a key in %s", at(d.name, it.Val.Pos()), ErrSyntax, where)
		}
		name, err := d.keyName(it.Keys[0])
		if err != nil {
			return err
		}
		if err := each(it, name, seen); err != nil {
			return err
		}
	}
	return nil
}
