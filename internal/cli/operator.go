package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"
)

func newOperatorCommand(s *session) *command {
	return &command{
		s:        s,
		name:     "operator",
		synopsis: "Perform operator-specific tasks",
		outputs:  noHTTP,
		usage: `
Usage: tresor operator <subcommand> [options] [args]

  Groups the commands operators use to manage a server: initialize it,
  unseal and seal it, and rotate its encryption key.

  Initialize a new server:

      $ tresor operator init

  Unseal it with a key share:

      $ tresor operator unseal

  Please see the individual subcommand help for detailed usage information.
`,
	}
}

// Defaults when operator init is given no shares or threshold (vault's).
const (
	defaultKeyShares    = 5
	defaultKeyThreshold = 3
)

func newOperatorInitCommand(s *session) *command {
	var (
		shares, threshold                 int
		recoveryShares, recoveryThreshold int
		statusOnly                        bool
	)
	return &command{
		s:        s,
		name:     "operator init",
		synopsis: "Initializes a server",
		outputs:  withFormat,
		usage: `
Usage: tresor operator init [options]

  Initializes a new server: generates its root key, splits it into key
  shares with Shamir's secret sharing, and creates the initial root token.
  This runs once per server (or HA cluster).

  Initialize with the default 5 shares and threshold 3:

      $ tresor operator init

  Only report whether the server is initialized (exit 0 if so, 2 if not):

      $ tresor operator init -status
`,
		flags: func(g *flagGroup) {
			g.intVar(&shares, "key-shares", 0,
				"Number of key shares to split the generated root key into: how "+
					"many unseal keys are printed. The default is 5.", "n")
			g.intVar(&threshold, "key-threshold", 0,
				"Number of key shares required to reconstruct the root key. It "+
					"must not exceed -key-shares. The default is 3.", "t")
			g.intVar(&recoveryShares, "recovery-shares", 0,
				"Number of recovery key shares, for servers with auto-unseal.")
			g.intVar(&recoveryThreshold, "recovery-threshold", 0,
				"Number of recovery key shares required to reconstruct the "+
					"recovery key, for servers with auto-unseal.")
			g.boolVar(&statusOnly, "status", false,
				"Print the initialization status instead of initializing. The "+
					"exit code is 0 if initialized, 2 if not, 1 on error.")
		},
		run: func(c *command, args []string) int {
			client, code := c.argsAndClient(args, 0, 0)
			if client == nil {
				return code
			}
			if statusOnly {
				return c.initStatus(client)
			}
			// The seal type decides which defaults apply; don't let
			// -output-curl-string swallow this preliminary request.
			client.SetOutputCurlString(false)
			seal, err := client.Sys().SealStatusWithContext(c.s.ctx)
			if err != nil {
				c.s.errorf("%s", err)
				return exitRemote
			}
			client.SetOutputCurlString(c.curl)
			if seal.RecoverySeal {
				recoveryShares = cmpOr(recoveryShares, defaultKeyShares)
				recoveryThreshold = cmpOr(recoveryThreshold, defaultKeyThreshold)
			} else {
				shares = cmpOr(shares, defaultKeyShares)
				threshold = cmpOr(threshold, defaultKeyThreshold)
			}
			req := &api.InitRequest{
				SecretShares:      shares,
				SecretThreshold:   threshold,
				RecoveryShares:    recoveryShares,
				RecoveryThreshold: recoveryThreshold,
			}
			resp, err := client.Sys().InitWithContext(c.s.ctx, req)
			if err != nil {
				return c.apiFailed(err, "Error initializing")
			}
			return c.printInit(req, resp)
		},
	}
}

// cmpOr returns v, or def when v is zero.
func cmpOr(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func (c *command) initStatus(client *api.Client) int {
	inited, err := client.Sys().InitStatusWithContext(c.s.ctx)
	if err != nil {
		if code := c.apiFailed(err, "Error checking init status"); code != exitRemote {
			return code
		}
		return exitLocal // 2 means "not initialized" here
	}
	p := c.printer()
	if p.format != "table" {
		p.encode(map[string]bool{"Initialized": inited})
	} else if inited {
		fmt.Fprintln(c.s.stdout, "Server is initialized")
	} else {
		fmt.Fprintln(c.s.stdout, "Server is not initialized")
	}
	if !inited {
		return exitRemote
	}
	return exitOK
}

// initOutput is operator init's json/yaml document, with vault's names.
type initOutput struct {
	UnsealKeysB64     []string `json:"unseal_keys_b64"`
	UnsealKeysHex     []string `json:"unseal_keys_hex"`
	UnsealShares      int      `json:"unseal_shares"`
	UnsealThreshold   int      `json:"unseal_threshold"`
	RecoveryKeysB64   []string `json:"recovery_keys_b64"`
	RecoveryKeysHex   []string `json:"recovery_keys_hex"`
	RecoveryShares    int      `json:"recovery_keys_shares"`
	RecoveryThreshold int      `json:"recovery_keys_threshold"`
	RootToken         string   `json:"root_token"`
}

func (c *command) printInit(req *api.InitRequest, resp *api.InitResponse) int {
	p := c.printer()
	if p.format != "table" {
		out := initOutput{
			UnsealKeysB64:     nonNil(resp.KeysB64),
			UnsealKeysHex:     nonNil(resp.Keys),
			UnsealShares:      req.SecretShares,
			UnsealThreshold:   req.SecretThreshold,
			RecoveryKeysB64:   nonNil(resp.RecoveryKeysB64),
			RecoveryKeysHex:   nonNil(resp.RecoveryKeys),
			RecoveryShares:    req.RecoveryShares,
			RecoveryThreshold: req.RecoveryThreshold,
			RootToken:         resp.RootToken,
		}
		// No keys back means the seal stores them: one share, threshold one.
		if len(resp.Keys) == 0 {
			out.UnsealShares, out.UnsealThreshold = 1, 1
		}
		return p.encode(out)
	}

	w := c.s.stdout
	printKeys(w, "Unseal Key", resp.Keys, resp.KeysB64)
	printKeys(w, "Recovery Key", resp.RecoveryKeys, resp.RecoveryKeysB64)
	fmt.Fprintf(w, "\nInitial Root Token: %s\n", resp.RootToken)
	if len(resp.Keys) > 0 {
		fmt.Fprintf(w, "\n%s\n", wrap(fmt.Sprintf(
			"The server is initialized with %d key shares and a key threshold of %d. "+
				"Hand the key shares above to different trusted people and keep them "+
				"safe. Whenever the server restarts or is sealed, %d of these keys "+
				"must be entered to unseal it before it serves requests again.",
			req.SecretShares, req.SecretThreshold, req.SecretThreshold), 0))
		fmt.Fprintf(w, "\n%s\n", wrap(fmt.Sprintf(
			"The root key is not stored anywhere. If fewer than %d key shares "+
				"remain, the server can never be unsealed again and its data is lost.",
			req.SecretThreshold), 0))
		fmt.Fprintf(w, "\n%s\n", wrap(
			"New key shares can be generated later from a quorum of the existing "+
				"ones (rekeying).", 0))
	} else {
		fmt.Fprintln(w, "\nSuccess! The server is initialized")
	}
	if len(resp.RecoveryKeys) > 0 {
		fmt.Fprintf(w, "\n%s\n", wrap(fmt.Sprintf(
			"The recovery key is split into %d shares with a threshold of %d. "+
				"Distribute the recovery shares above securely.",
			req.RecoveryShares, req.RecoveryThreshold), 0))
	}
	return exitOK
}

// printKeys prints numbered key shares, base64 when the server sent it.
func printKeys(w io.Writer, label string, hex, b64 []string) {
	for i, k := range hex {
		if len(b64) == len(hex) {
			k = b64[i]
		}
		fmt.Fprintf(w, "%s %d: %s\n", label, i+1, k)
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func newOperatorUnsealCommand(s *session) *command {
	var reset, migrate bool
	return &command{
		s:        s,
		name:     "operator unseal",
		synopsis: "Unseals the server",
		outputs:  withFormat,
		usage: `
Usage: tresor operator unseal [options] [KEY]

  Provides one unseal key share. Once enough shares (the threshold) are
  given, the server reconstructs its root key and unseals. Run it once per
  share; progress is kept by the server.

  Without KEY the share is asked for without echo on a terminal, or read as
  one line from stdin otherwise; prefer that to KEY, which ends up in your
  shell history.

      $ tresor operator unseal

  Forget the shares entered so far:

      $ tresor operator unseal -reset

  Migrate to the seal the configuration now names, one share at a time:

      $ tresor operator unseal -migrate
`,
		flags: func(g *flagGroup) {
			g.boolVar(&reset, "reset", false,
				"Discard the unseal key shares entered so far and start again.")
			g.boolVar(&migrate, "migrate", false,
				"Submit the share towards the seal migration the configuration "+
					"asks for (a new seal stanza, the old one disabled). Unseal "+
					"keys become recovery keys, or recovery keys unseal keys.")
		},
		run: func(c *command, args []string) int {
			client, code := c.argsAndClient(args, 0, 1)
			if client == nil {
				return code
			}
			if reset {
				st, err := client.Sys().ResetUnsealProcessWithContext(c.s.ctx)
				if err != nil {
					return c.apiFailed(err, "Error resetting unseal process")
				}
				return c.printSealStatus(client, st)
			}
			var key string
			if len(args) == 1 {
				key = args[0]
			} else {
				var err error
				key, err = c.s.readSecret(c.s.stdout, "Unseal Key (will be hidden): ")
				if err != nil {
					c.s.errorf("%s", wrap(fmt.Sprintf("Could not read the unseal key: %s. "+
						"Run the command from a terminal, pipe the key on stdin, or pass "+
						"it as the argument.", err), 0))
					return exitLocal
				}
			}
			st, err := client.Sys().UnsealWithOptionsWithContext(c.s.ctx, &api.UnsealOpts{Key: strings.TrimSpace(key), Migrate: migrate})
			if err != nil {
				return c.apiFailed(err, "Error unsealing")
			}
			return c.printSealStatus(client, st)
		},
	}
}

func newOperatorSealCommand(s *session) *command {
	return &command{
		s:        s,
		name:     "operator seal",
		synopsis: "Seals the server",
		usage: `
Usage: tresor operator seal [options]

  Seals the server: it drops its root key from memory and answers nothing
  but status requests until unsealed again with a quorum of key shares.
  Use it in an emergency, such as a suspected intrusion.

  Requires a token with sudo capability on sys/seal.

      $ tresor operator seal
`,
		run: func(c *command, args []string) int {
			client, code := c.argsAndClient(args, 0, 0)
			if client == nil {
				return code
			}
			if err := client.Sys().SealWithContext(c.s.ctx); err != nil {
				return c.apiFailed(err, "Error sealing")
			}
			fmt.Fprintln(c.s.stdout, "Success! Server is sealed.")
			return exitOK
		},
	}
}

func newOperatorRotateCommand(s *session) *command {
	return &command{
		s:        s,
		name:     "operator rotate",
		synopsis: "Rotates the underlying encryption key",
		outputs:  withFormat,
		usage: `
Usage: tresor operator rotate [options]

  Adds a new encryption key to the keyring. New data is encrypted with it;
  existing data stays readable with the older keys. The unseal keys do not
  change.

      $ tresor operator rotate
`,
		run: func(c *command, args []string) int {
			client, code := c.argsAndClient(args, 0, 0)
			if client == nil {
				return code
			}
			if err := client.Sys().RotateWithContext(c.s.ctx); err != nil {
				return c.apiFailed(err, "Error rotating key")
			}
			ks, err := client.Sys().KeyStatusWithContext(c.s.ctx)
			if err != nil {
				return c.apiFailed(err, "Error reading key status")
			}
			p := c.printer()
			if p.format != "table" {
				return p.encode(ks)
			}
			fmt.Fprintf(c.s.stdout, "Success! Rotated key\n\n%s\n", keyStatusTable(ks))
			return exitOK
		},
	}
}

func newOperatorKeyStatusCommand(s *session) *command {
	return &command{
		s:        s,
		name:     "operator key-status",
		synopsis: "Provides information about the active encryption key",
		outputs:  withFormat,
		usage: `
Usage: tresor operator key-status [options]

  Prints the term and install time of the active encryption key, and how
  many encryptions it has performed.

      $ tresor operator key-status
`,
		run: func(c *command, args []string) int {
			client, code := c.argsAndClient(args, 0, 0)
			if client == nil {
				return code
			}
			ks, err := client.Sys().KeyStatusWithContext(c.s.ctx)
			if err != nil {
				return c.apiFailed(err, "Error reading key status")
			}
			p := c.printer()
			if p.format != "table" {
				return p.encode(ks)
			}
			fmt.Fprintln(c.s.stdout, keyStatusTable(ks))
			return exitOK
		},
	}
}

// keyStatusTable is vault's header-less key status table.
func keyStatusTable(ks *api.KeyStatus) string {
	return table([][]string{
		{"Key Term", fmt.Sprint(ks.Term)},
		{"Install Time", ks.InstallTime.UTC().Format(time.RFC822)},
		{"Encryption Count", fmt.Sprint(ks.Encryptions)},
	})
}
