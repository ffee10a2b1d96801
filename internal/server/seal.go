package server

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"

	"github.com/tresorhq/tresor/internal/config"
	"github.com/tresorhq/tresor/internal/seal"
)

// sealWrapper builds the auto-unseal seal a configuration stanza names;
// nil for none or "shamir".
func sealWrapper(sc *config.Seal, logger *slog.Logger) (seal.Wrapper, error) {
	if sc == nil || sc.Type == "shamir" {
		return nil, nil
	}
	m := sc.Config
	switch sc.Type {
	case "static":
		return seal.NewStatic(seal.StaticConfig{
			CurrentKeyID: m["current_key_id"], CurrentKey: m["current_key"],
			PreviousKeyID: m["previous_key_id"], PreviousKey: m["previous_key"],
		}, os.Getenv)
	case "transit":
		flag := func(name string) (bool, error) {
			v, ok := m[name]
			if !ok || v == "" {
				return false, nil
			}
			b, err := strconv.ParseBool(v)
			if err != nil {
				return false, fmt.Errorf(`seal "transit": %s: want true or false`, name)
			}
			return b, nil
		}
		skip, err := flag("tls_skip_verify")
		if err != nil {
			return nil, err
		}
		noRenew, err := flag("disable_renewal")
		if err != nil {
			return nil, err
		}
		return seal.NewTransit(seal.TransitConfig{
			Address: m["address"], Token: m["token"], KeyName: m["key_name"], MountPath: m["mount_path"],
			Namespace: m["namespace"], TLSCACert: m["tls_ca_cert"], TLSSkipVerify: skip, DisableRenewal: noRenew,
		}, os.Getenv, logger.With("component", "seal"))
	}
	return nil, fmt.Errorf("seal type %q is not supported", sc.Type)
}
