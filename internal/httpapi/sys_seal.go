package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/randid"
	"github.com/tresorhq/tresor/internal/seal"
	"github.com/tresorhq/tresor/internal/version"
)

// sealStatusBody is sys/seal-status's answer, also returned by sys/unseal.
type sealStatusBody struct {
	Type         string `json:"type"`
	Initialized  bool   `json:"initialized"`
	Sealed       bool   `json:"sealed"`
	T            int    `json:"t"`
	N            int    `json:"n"`
	Progress     int    `json:"progress"`
	Nonce        string `json:"nonce"`
	Version      string `json:"version"`
	BuildDate    string `json:"build_date"`
	Migration    bool   `json:"migration"`
	ClusterName  string `json:"cluster_name,omitempty"`
	ClusterID    string `json:"cluster_id,omitempty"`
	RecoverySeal bool   `json:"recovery_seal"`
	// RecoverySealType is how the recovery key is kept: split with
	// Shamir's scheme, as in Vault.
	RecoverySealType string `json:"recovery_seal_type,omitempty"`
	StorageType      string `json:"storage_type,omitempty"`
}

func newSealStatusBody(st *seal.Status) sealStatusBody {
	recoveryType := ""
	if st.RecoverySeal {
		recoveryType = "shamir"
	}
	return sealStatusBody{
		RecoverySealType: recoveryType,
		Type:             st.Type, Initialized: st.Initialized, Sealed: st.Sealed,
		T: st.Threshold, N: st.Shares, Progress: st.Progress, Nonce: st.Nonce,
		Version: version.VaultAPI, BuildDate: version.BuildDate,
		RecoverySeal: st.RecoverySeal, Migration: st.Migration,
		ClusterName: st.ClusterName, ClusterID: st.ClusterID, StorageType: st.StorageType,
	}
}

func (a *api) handleSealStatus(w http.ResponseWriter, r *http.Request, _ string) {
	if r.Method != http.MethodGet {
		respondError(w, a.logger, "", logical.ErrUnsupportedOperation)
		return
	}
	a.writeSealStatus(w, r)
}

func (a *api) writeSealStatus(w http.ResponseWriter, r *http.Request) {
	st, err := a.core.SealStatus(r.Context())
	if err != nil {
		respondError(w, a.logger, "", err)
		return
	}
	writeJSON(w, http.StatusOK, newSealStatusBody(st))
}

func (a *api) handleInit(w http.ResponseWriter, r *http.Request, _ string) {
	switch r.Method {
	case http.MethodGet:
		st, err := a.core.SealStatus(r.Context())
		if err != nil {
			respondError(w, a.logger, "", err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]bool{"initialized": st.Initialized})
	case http.MethodPut, http.MethodPost:
		var in struct {
			SecretShares      int      `json:"secret_shares"`
			SecretThreshold   int      `json:"secret_threshold"`
			PGPKeys           []string `json:"pgp_keys"`
			RootTokenPGPKey   string   `json:"root_token_pgp_key"`
			StoredShares      int      `json:"stored_shares"`
			RecoveryShares    int      `json:"recovery_shares"`
			RecoveryThreshold int      `json:"recovery_threshold"`
		}
		if !a.decodeInto(w, r, &in) {
			return
		}
		if len(in.PGPKeys) > 0 || in.RootTokenPGPKey != "" {
			respondError(w, a.logger, "", badRequest("PGP-encrypted key shares are not supported"))
			return
		}
		st, err := a.core.SealStatus(r.Context())
		if err != nil {
			respondError(w, a.logger, "", err)
			return
		}
		cfg := seal.Config{SecretShares: in.SecretShares, SecretThreshold: in.SecretThreshold}
		if st.RecoverySeal {
			// Auto-unseal: the shares made are recovery shares (Vault's
			// defaults 5 and 3); secret_shares has nothing to split.
			cfg = seal.Config{SecretShares: cmpOr(in.RecoveryShares, 5), SecretThreshold: cmpOr(in.RecoveryThreshold, 3)}
		}
		keys, root, err := a.core.Initialize(r.Context(), cfg, "")
		if err != nil {
			respondError(w, a.logger, "", err)
			return
		}
		out := struct {
			Keys               []string `json:"keys"`
			KeysBase64         []string `json:"keys_base64"`
			RecoveryKeys       []string `json:"recovery_keys,omitempty"`
			RecoveryKeysBase64 []string `json:"recovery_keys_base64,omitempty"`
			RootToken          string   `json:"root_token"`
		}{RootToken: root, Keys: []string{}, KeysBase64: []string{}}
		h, b := seal.EncodeShares(keys)
		switch {
		case st.RecoverySeal:
			out.RecoveryKeys, out.RecoveryKeysBase64 = h, b
		case len(keys) > 0:
			out.Keys, out.KeysBase64 = h, b
		}
		writeJSON(w, http.StatusOK, out)
	default:
		respondError(w, a.logger, "", logical.ErrUnsupportedOperation)
	}
}

func (a *api) handleUnseal(w http.ResponseWriter, r *http.Request, _ string) {
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		respondError(w, a.logger, "", logical.ErrUnsupportedOperation)
		return
	}
	var in struct {
		Key     string `json:"key"`
		Reset   bool   `json:"reset"`
		Migrate bool   `json:"migrate"`
	}
	if !a.decodeInto(w, r, &in) {
		return
	}
	switch {
	case in.Reset:
		a.core.ResetUnseal()
	case in.Key == "":
		respondError(w, a.logger, "", badRequest("'key' must be specified in request body as JSON, or 'reset' set to true"))
		return
	default:
		key, err := seal.ParseShare(in.Key)
		if err != nil {
			respondError(w, a.logger, "", badRequest("'key' must be a valid hex or base64 string"))
			return
		}
		unseal := a.core.Unseal
		if in.Migrate {
			m, ok := a.core.(interface {
				UnsealMigrate(ctx context.Context, key []byte) (bool, error)
			})
			if !ok {
				respondError(w, a.logger, "", badRequest("seal migration is not supported"))
				return
			}
			unseal = m.UnsealMigrate
		}
		if _, err := unseal(r.Context(), key); err != nil {
			respondError(w, a.logger, "", err)
			return
		}
	}
	a.writeSealStatus(w, r)
}

// cmpOr returns v, or def when v is zero.
func cmpOr(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// decodeKey accepts a key share in hex (as printed) or base64.
func (a *api) handleSeal(w http.ResponseWriter, r *http.Request, _ string) {
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		respondError(w, a.logger, "", logical.ErrUnsupportedOperation)
		return
	}
	if err := a.core.Seal(r.Context(), clientToken(r)); err != nil {
		respondError(w, a.logger, "", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleHealth answers sys/health with Vault's status codes: 200 active,
// 429 standby, 501 not initialised, 503 sealed, each overridable by query.
func (a *api) handleHealth(w http.ResponseWriter, r *http.Request, _ string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		respondError(w, a.logger, "", logical.ErrUnsupportedOperation)
		return
	}
	st, err := a.core.SealStatus(r.Context())
	if err != nil {
		respondError(w, a.logger, "", err)
		return
	}
	q := r.URL.Query()
	code := func(name string, def int) int {
		if v := q.Get(name); v != "" {
			if n, err := strconv.Atoi(v); err == nil && n >= 100 && n <= 599 {
				return n
			}
		}
		return def
	}
	status := code("activecode", http.StatusOK)
	switch {
	case !st.Initialized:
		status = code("uninitcode", http.StatusNotImplemented)
	case st.Sealed:
		status = code("sealedcode", http.StatusServiceUnavailable)
	case st.Standby:
		if ok, _ := strconv.ParseBool(q.Get("standbyok")); !ok {
			status = code("standbycode", http.StatusTooManyRequests)
		}
	}
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return
	}
	// A Vault server is a standby until it becomes active, which takes an
	// unseal.
	writeJSON(w, status, map[string]any{
		"initialized":                  st.Initialized,
		"sealed":                       st.Sealed,
		"standby":                      !st.Initialized || st.Sealed || st.Standby,
		"performance_standby":          false,
		"replication_performance_mode": "disabled",
		"replication_dr_mode":          "disabled",
		"server_time_utc":              time.Now().Unix(),
		"version":                      version.VaultAPI,
		"enterprise":                   false,
		"cluster_name":                 st.ClusterName,
		"cluster_id":                   st.ClusterID,
		"echo_duration_ms":             0,
		"clock_skew_ms":                0,
	})
}

// leaderReporter is implemented by a core that can name the active node.
type leaderReporter interface {
	Leader(ctx context.Context) (*seal.LeaderStatus, error)
}

// handleLeader answers sys/leader.
func (a *api) handleLeader(w http.ResponseWriter, r *http.Request, _ string) {
	if r.Method != http.MethodGet {
		respondError(w, a.logger, "", logical.ErrUnsupportedOperation)
		return
	}
	ls := &seal.LeaderStatus{}
	if lr, ok := a.core.(leaderReporter); ok {
		var err error
		if ls, err = lr.Leader(r.Context()); err != nil {
			respondError(w, a.logger, "", err)
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"ha_enabled":                          ls.HAEnabled,
		"is_self":                             ls.IsSelf,
		"active_time":                         ls.ActiveTime.Format(time.RFC3339Nano),
		"leader_address":                      ls.LeaderAddress,
		"leader_cluster_address":              ls.LeaderClusterAddress,
		"performance_standby":                 false,
		"performance_standby_last_remote_wal": 0,
		"raft_committed_index":                ls.RaftCommittedIndex,
		"raft_applied_index":                  ls.RaftAppliedIndex,
	})
}

// decodeInto decodes a bounded JSON object body into v, answering the
// error itself; it reports whether the caller should go on.
func (a *api) decodeInto(w http.ResponseWriter, r *http.Request, v any) bool {
	raw, err := a.readBody(w, r)
	if err == nil && !emptyBody(raw) {
		if err = checkJSON(raw); err != nil {
			err = badRequest("error parsing JSON: " + err.Error())
		} else if json.Unmarshal(raw, v) != nil {
			err = badRequest("error parsing JSON")
		}
	}
	if err != nil {
		respondError(w, a.logger, randid.UUID(), err)
		return false
	}
	return true
}
