package transit

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"strconv"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
)

// maxRandomBytes bounds one random/ request, as Vault does.
const maxRandomBytes = 128 * 1024

func (b *Backend) pathsRandom() []*framework.Path {
	fields := func() map[string]*framework.Field {
		return map[string]*framework.Field{
			"bytes":  {Type: framework.TypeInt, Default: 32, Description: "How many bytes to return."},
			"format": {Type: framework.TypeString, Default: "base64", Description: "Output encoding: base64 or hex."},
			"source": {Type: framework.TypeString, Default: "platform", Description: "platform, seal or all; all read the system's CSPRNG here."},
		}
	}
	mk := func(pattern string) *framework.Path {
		return &framework.Path{
			Pattern:    pattern,
			Fields:     fields(),
			Operations: map[logical.Operation]framework.Handler{logical.UpdateOperation: b.randomHandler},
			Synopsis:   "Generate random bytes.",
		}
	}
	return []*framework.Path{mk("random"), mk("random/{urlbytes}"), mk("random/{urlbytes}/{urlbytes2}")}
}

func (b *Backend) randomHandler(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in struct {
		Bytes  int    `field:"bytes"`
		Format string `field:"format"`
		Source string `field:"source"`
	}
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	// random/<bytes>, random/<source> and random/<source>/<bytes>.
	for _, seg := range []string{req.Param("urlbytes"), req.Param("urlbytes2")} {
		if seg == "" {
			continue
		}
		if n, err := strconv.Atoi(seg); err == nil {
			in.Bytes = n
		} else {
			in.Source = seg
		}
	}
	switch in.Source {
	case "platform", "seal", "all":
	default:
		return nil, logical.InvalidRequest("unsupported entropy source %q; must be \"platform\", \"seal\" or \"all\"", in.Source)
	}
	if in.Bytes < 1 {
		return nil, logical.InvalidRequest("number of bytes must be positive")
	}
	if in.Bytes > maxRandomBytes {
		return nil, logical.InvalidRequest("number of bytes too large: at most %d", maxRandomBytes)
	}
	raw := randomBytes(in.Bytes)
	var out string
	switch in.Format {
	case "base64":
		out = base64.StdEncoding.EncodeToString(raw)
	case "hex":
		out = hex.EncodeToString(raw)
	default:
		return nil, logical.InvalidRequest("unsupported encoding format %s; must be \"hex\" or \"base64\"", in.Format)
	}
	return &logical.Response{Data: map[string]any{"random_bytes": out}}, nil
}
