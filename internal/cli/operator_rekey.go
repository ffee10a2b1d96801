package cli

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/vault/api"

	"github.com/tresorhq/tresor/internal/randid"
)

func newOperatorRekeyCommand(s *session) *command {
	var (
		init, cancel, status, verify, backup bool
		shares, threshold                    int
		nonce, target                        string
		pgpKeys                              []string
	)
	return &command{
		s:        s,
		name:     "operator rekey",
		synopsis: "Generates new unseal keys",
		outputs:  withFormat,
		usage: `
Usage: tresor operator rekey [options] [KEY]

  Replaces the unseal key and its shares with new ones, given a quorum of
  the current shares. The data and the root key do not change. Rekeying is
  started once, then each holder of a share submits theirs; every step is
  tied to the nonce printed at the start.

  Start a rekey towards 7 new shares, 4 of which will unseal, and make the
  new shares prove themselves before they replace the old ones:

      $ tresor operator rekey -init -key-shares=7 -key-threshold=4 -verify

  Submit a current share (asked for without echo when KEY is omitted):

      $ tresor operator rekey -nonce=NONCE

  Submit a new share to verify it:

      $ tresor operator rekey -verify -nonce=VERIFICATION_NONCE

  Show progress, or cancel:

      $ tresor operator rekey -status
      $ tresor operator rekey -cancel

  The rekey endpoints need a token with sudo on sys/rekey/* unless the
  listener sets disable_unauthed_rekey_endpoints = false.
`,
		flags: func(g *flagGroup) {
			g.boolVar(&init, "init", false,
				"Start a rekey. Fails if one is already under way.")
			g.boolVar(&cancel, "cancel", false,
				"Cancel the rekey under way, dropping the shares submitted "+
					"so far. With -verify, restart only the verification.")
			g.boolVar(&status, "status", false,
				"Print the progress of the rekey under way.")
			g.intVar(&shares, "key-shares", defaultKeyShares,
				"Number of new key shares to make. Only with -init.", "n")
			g.intVar(&threshold, "key-threshold", defaultKeyThreshold,
				"Number of new key shares needed to unseal. Only with -init.", "t")
			g.stringVar(&nonce, "nonce", "", "NONCE",
				"Nonce of the rekey (or, with -verify, of its verification). "+
					"Read from the server when omitted.")
			g.boolVar(&verify, "verify", false,
				"With -init: require the new shares to be submitted back before "+
					"they take effect. Otherwise: act on that verification.")
			g.stringVar(&target, "target", "barrier", "barrier",
				`Which keys to rekey: "barrier" (unseal keys) or "recovery".`)
			g.stringsVar(&pgpKeys, "pgp-keys", "KEYS",
				"Not supported: PGP-encrypted shares.")
			g.boolVar(&backup, "backup", false, "Not supported: backup of PGP-encrypted shares.")
		},
		run: func(c *command, args []string) int {
			if !c.wantArgs(args, 0, 1) {
				return exitLocal
			}
			if len(pgpKeys) > 0 || backup {
				c.s.errorf("PGP-encrypted key shares are not supported")
				return exitLocal
			}
			if target != "barrier" && target != "recovery" {
				c.s.errorf(`Unknown target %q: want "barrier" or "recovery"`, target)
				return exitLocal
			}
			client, code := c.clientOrFail()
			if client == nil {
				return code
			}
			r := &rekeyRun{c: c, client: client, recovery: target == "recovery"}
			switch {
			case init:
				return r.init(shares, threshold, verify)
			case cancel && verify:
				return r.cancelVerify()
			case cancel:
				return r.cancel(nonce)
			case status && verify:
				return r.verifyStatus()
			case status:
				return r.status()
			case verify:
				return r.submitVerify(args, nonce)
			default:
				return r.submit(args, nonce)
			}
		},
	}
}

// rekeyRun is one operator rekey invocation.
type rekeyRun struct {
	c        *command
	client   *api.Client
	recovery bool
}

func (r *rekeyRun) sys() *api.Sys { return r.client.Sys() }

func (r *rekeyRun) init(shares, threshold int, verify bool) int {
	req := &api.RekeyInitRequest{SecretShares: shares, SecretThreshold: threshold, RequireVerification: verify}
	var st *api.RekeyStatusResponse
	var err error
	if r.recovery {
		st, err = r.sys().RekeyRecoveryKeyInitWithContext(r.c.s.ctx, req)
	} else {
		st, err = r.sys().RekeyInitWithContext(r.c.s.ctx, req)
	}
	if err != nil {
		return r.c.apiFailed(err, "Error initializing rekey")
	}
	return r.printStatus(st)
}

func (r *rekeyRun) cancel(nonce string) int {
	var err error
	if r.recovery {
		err = r.sys().RekeyRecoveryKeyCancelWithContextWithNonce(r.c.s.ctx, nonce)
	} else {
		err = r.sys().RekeyCancelWithContextWithNonce(r.c.s.ctx, nonce)
	}
	if err != nil {
		return r.c.apiFailed(err, "Error canceling rekey")
	}
	fmt.Fprintln(r.c.s.stdout, "Success! Canceled rekeying (if it was started)")
	return exitOK
}

func (r *rekeyRun) cancelVerify() int {
	var err error
	if r.recovery {
		err = r.sys().RekeyRecoveryKeyVerificationCancelWithContext(r.c.s.ctx)
	} else {
		err = r.sys().RekeyVerificationCancelWithContext(r.c.s.ctx)
	}
	if err != nil {
		return r.c.apiFailed(err, "Error canceling rekey verification")
	}
	fmt.Fprintln(r.c.s.stdout, "Success! Canceled rekey verification; it starts again under a new nonce")
	return exitOK
}

func (r *rekeyRun) fetchStatus() (*api.RekeyStatusResponse, error) {
	if r.recovery {
		return r.sys().RekeyRecoveryKeyStatusWithContext(r.c.s.ctx)
	}
	return r.sys().RekeyStatusWithContext(r.c.s.ctx)
}

func (r *rekeyRun) fetchVerifyStatus() (*api.RekeyVerificationStatusResponse, error) {
	if r.recovery {
		return r.sys().RekeyRecoveryKeyVerificationStatusWithContext(r.c.s.ctx)
	}
	return r.sys().RekeyVerificationStatusWithContext(r.c.s.ctx)
}

func (r *rekeyRun) status() int {
	st, err := r.fetchStatus()
	if err != nil {
		return r.c.apiFailed(err, "Error reading rekey status")
	}
	return r.printStatus(st)
}

func (r *rekeyRun) verifyStatus() int {
	st, err := r.fetchVerifyStatus()
	if err != nil {
		return r.c.apiFailed(err, "Error reading rekey verification status")
	}
	return r.printVerifyStatus(st)
}

// readKey takes the share from the argument, or asks for it.
func (r *rekeyRun) readKey(args []string, label string) (string, bool) {
	if len(args) == 1 {
		return strings.TrimSpace(args[0]), true
	}
	key, err := r.c.s.readSecret(r.c.s.stdout, label)
	if err != nil || key == "" {
		if err == nil {
			err = errors.New("no key given")
		}
		r.c.s.errorf("%s", wrap(fmt.Sprintf("Could not read the key: %s. Run the command "+
			"from a terminal, pipe the key on stdin, or pass it as the argument.", err), 0))
		return "", false
	}
	return key, true
}

func (r *rekeyRun) submit(args []string, nonce string) int {
	if nonce == "" {
		st, err := r.fetchStatus()
		if err != nil {
			return r.c.apiFailed(err, "Error reading rekey status")
		}
		if !st.Started {
			r.c.s.errorf("%s", wrap("No rekey is in progress. Start one with "+
				"\"tresor operator rekey -init\".", 0))
			return exitRemote
		}
		nonce = st.Nonce
	}
	key, ok := r.readKey(args, "Unseal Key (will be hidden): ")
	if !ok {
		return exitLocal
	}
	var resp *api.RekeyUpdateResponse
	var err error
	if r.recovery {
		resp, err = r.sys().RekeyRecoveryKeyUpdateWithContext(r.c.s.ctx, key, nonce)
	} else {
		resp, err = r.sys().RekeyUpdateWithContext(r.c.s.ctx, key, nonce)
	}
	if err != nil {
		return r.c.apiFailed(err, "Error posting unseal key")
	}
	if !resp.Complete {
		return r.status()
	}
	return r.printKeys(resp)
}

func (r *rekeyRun) submitVerify(args []string, nonce string) int {
	if nonce == "" {
		st, err := r.fetchVerifyStatus()
		if err != nil {
			return r.c.apiFailed(err, "Error reading rekey verification status")
		}
		nonce = st.Nonce
	}
	key, ok := r.readKey(args, "Key (will be hidden): ")
	if !ok {
		return exitLocal
	}
	var resp *api.RekeyVerificationUpdateResponse
	var err error
	if r.recovery {
		resp, err = r.sys().RekeyRecoveryKeyVerificationUpdateWithContext(r.c.s.ctx, key, nonce)
	} else {
		resp, err = r.sys().RekeyVerificationUpdateWithContext(r.c.s.ctx, key, nonce)
	}
	if err != nil {
		return r.c.apiFailed(err, "Error posting unseal key")
	}
	if !resp.Complete {
		return r.verifyStatus()
	}
	p := r.c.printer()
	if p.format != "table" {
		return p.encode(resp)
	}
	fmt.Fprintf(r.c.s.stdout, "%s\n", wrap(fmt.Sprintf("Success! Rekey verification successful. "+
		"The rekey operation is complete and the new keys are now active. (nonce %s)", resp.Nonce), 0))
	return exitOK
}

func (r *rekeyRun) printStatus(st *api.RekeyStatusResponse) int {
	p := r.c.printer()
	if p.format != "table" {
		return p.encode(st)
	}
	rows := [][]string{{"Nonce", st.Nonce}, {"Started", fmt.Sprint(st.Started)}}
	if st.Started {
		progress := fmt.Sprintf("%d/%d", st.Progress, st.Required)
		if st.VerificationNonce != "" {
			progress += " (verification in progress)"
		}
		rows = append(rows, []string{"Rekey Progress", progress},
			[]string{"New Shares", fmt.Sprint(st.N)},
			[]string{"New Threshold", fmt.Sprint(st.T)},
			[]string{"Verification Required", fmt.Sprint(st.VerificationRequired)})
		if st.VerificationNonce != "" {
			rows = append(rows, []string{"Verification Nonce", st.VerificationNonce})
		}
	}
	rows = append(rows, []string{"Backup", fmt.Sprint(st.Backup)})
	p.keyValues(rows)
	return exitOK
}

func (r *rekeyRun) printVerifyStatus(st *api.RekeyVerificationStatusResponse) int {
	p := r.c.printer()
	if p.format != "table" {
		return p.encode(st)
	}
	p.keyValues([][]string{
		{"Nonce", st.Nonce},
		{"Started", fmt.Sprint(st.Started)},
		{"New Shares", fmt.Sprint(st.N)},
		{"New Threshold", fmt.Sprint(st.T)},
		{"Verification Progress", fmt.Sprintf("%d/%d", st.Progress, st.T)},
	})
	return exitOK
}

func (r *rekeyRun) printKeys(resp *api.RekeyUpdateResponse) int {
	p := r.c.printer()
	if p.format != "table" {
		return p.encode(resp)
	}
	w := r.c.s.stdout
	label := "Key"
	if r.recovery {
		label = "Recovery Key"
	}
	printKeys(w, label, resp.Keys, resp.KeysB64)
	fmt.Fprintf(w, "\nOperation nonce: %s\n", resp.Nonce)
	n := len(resp.Keys)
	if resp.VerificationRequired {
		fmt.Fprintf(w, "\n%s\n", wrap(fmt.Sprintf("The new %d key shares above are not in force yet: "+
			"the rekey requires verification. A quorum of them must be submitted with "+
			"\"tresor operator rekey -verify\" and the verification nonce below; until then "+
			"the old shares keep unsealing the server. Verification Nonce: %s",
			n, resp.VerificationNonce), 0))
		return exitOK
	}
	fmt.Fprintf(w, "\n%s\n", wrap(fmt.Sprintf("The server is rekeyed with %d key shares. "+
		"Hand them to different trusted people and keep them safe; the old shares no "+
		"longer unseal the server.", n), 0))
	return exitOK
}

func newOperatorGenerateRootCommand(s *session) *command {
	var (
		init, cancel, status, generateOTP, recovery bool
		decode, otp, pgpKey, nonce                  string
	)
	return &command{
		s:        s,
		name:     "operator generate-root",
		synopsis: "Generates a new root token",
		outputs:  withFormat,
		usage: `
Usage: tresor operator generate-root [options] [KEY]

  Makes a new root token from a quorum of unseal key shares (or recovery
  key shares under auto-unseal), for when no root token is left. The token
  is handed out XOR'd with a one-time password (OTP) and base64-encoded;
  only the holder of the OTP can decode it.

  Start, letting the server make the OTP (printed once, keep it):

      $ tresor operator generate-root -init

  Or make an OTP locally and start with it:

      $ tresor operator generate-root -generate-otp
      $ tresor operator generate-root -init -otp=OTP

  Each share holder submits a share (asked for without echo):

      $ tresor operator generate-root -nonce=NONCE

  Decode the encoded token printed after the last share:

      $ tresor operator generate-root -decode=ENCODED -otp=OTP

  The endpoints need a token with sudo on sys/generate-root/* unless the
  listener sets disable_unauthed_generate_root_endpoints = false.
`,
		flags: func(g *flagGroup) {
			g.boolVar(&init, "init", false, "Start a root token generation.")
			g.boolVar(&cancel, "cancel", false, "Cancel the generation under way.")
			g.boolVar(&status, "status", false, "Print the progress of the generation under way.")
			g.stringVar(&decode, "decode", "", "ENCODED",
				`Decode an encoded token with -otp and print it ("-" reads it from stdin).`)
			g.boolVar(&generateOTP, "generate-otp", false,
				"Print a one-time password of the length the server wants, for -init -otp.")
			g.stringVar(&otp, "otp", "", "OTP", "The one-time password, for -init or -decode.")
			g.stringVar(&pgpKey, "pgp-key", "", "KEY", "Not supported: a PGP-encrypted token.")
			g.stringVar(&nonce, "nonce", "", "NONCE",
				"Nonce of the generation. Read from the server when omitted.")
			g.boolVar(&recovery, "recovery-token", false, "Not supported: a recovery operation token.")
			var dr bool
			g.boolVar(&dr, "dr-token", false, "Not supported: a DR operation token.")
		},
		run: func(c *command, args []string) int {
			if !c.wantArgs(args, 0, 1) {
				return exitLocal
			}
			if pgpKey != "" || recovery {
				c.s.errorf("PGP-encrypted tokens and recovery operation tokens are not supported")
				return exitLocal
			}
			if decode != "" {
				return c.decodeRootToken(decode, otp)
			}
			client, code := c.clientOrFail()
			if client == nil {
				return code
			}
			g := &genRootRun{c: c, client: client}
			switch {
			case generateOTP:
				return g.generateOTP()
			case init:
				return g.init(otp)
			case cancel:
				if err := client.Sys().GenerateRootCancelWithContext(c.s.ctx); err != nil {
					return c.apiFailed(err, "Error canceling root token generation")
				}
				fmt.Fprintln(c.s.stdout, "Success! Root token generation canceled (if it was started)")
				return exitOK
			case status:
				return g.status()
			default:
				return g.submit(args, nonce)
			}
		},
	}
}

type genRootRun struct {
	c      *command
	client *api.Client
}

func (g *genRootRun) generateOTP() int {
	st, err := g.client.Sys().GenerateRootStatusWithContext(g.c.s.ctx)
	if err != nil {
		return g.c.apiFailed(err, "Error reading root generation status")
	}
	if st.OTPLength <= 0 {
		g.c.s.errorf("The server did not say how long the one-time password must be")
		return exitRemote
	}
	fmt.Fprintln(g.c.s.stdout, randid.Base62(st.OTPLength))
	return exitOK
}

func (g *genRootRun) init(otp string) int {
	st, err := g.client.Sys().GenerateRootInitWithContext(g.c.s.ctx, otp, "")
	if err != nil {
		return g.c.apiFailed(err, "Error initializing root generation")
	}
	return g.print(st)
}

func (g *genRootRun) status() int {
	st, err := g.client.Sys().GenerateRootStatusWithContext(g.c.s.ctx)
	if err != nil {
		return g.c.apiFailed(err, "Error reading root generation status")
	}
	return g.print(st)
}

func (g *genRootRun) submit(args []string, nonce string) int {
	if nonce == "" {
		st, err := g.client.Sys().GenerateRootStatusWithContext(g.c.s.ctx)
		if err != nil {
			return g.c.apiFailed(err, "Error reading root generation status")
		}
		if !st.Started {
			g.c.s.errorf("%s", wrap("No root generation is in progress. Start one with "+
				"\"tresor operator generate-root -init\".", 0))
			return exitRemote
		}
		nonce = st.Nonce
	}
	r := &rekeyRun{c: g.c, client: g.client}
	key, ok := r.readKey(args, "Unseal Key (will be hidden): ")
	if !ok {
		return exitLocal
	}
	st, err := g.client.Sys().GenerateRootUpdateWithContext(g.c.s.ctx, key, nonce)
	if err != nil {
		return g.c.apiFailed(err, "Error posting unseal key")
	}
	return g.print(st)
}

func (g *genRootRun) print(st *api.GenerateRootStatusResponse) int {
	p := g.c.printer()
	if p.format != "table" {
		return p.encode(st)
	}
	rows := [][]string{
		{"Nonce", st.Nonce},
		{"Started", fmt.Sprint(st.Started)},
		{"Progress", fmt.Sprintf("%d/%d", st.Progress, st.Required)},
		{"Complete", fmt.Sprint(st.Complete)},
	}
	switch {
	case st.EncodedToken != "":
		rows = append(rows, []string{"Encoded Token", st.EncodedToken})
	case st.EncodedRootToken != "":
		rows = append(rows, []string{"Encoded Root Token", st.EncodedRootToken})
	}
	if st.OTP != "" {
		fmt.Fprintf(g.c.s.stderr, "%s\n\n", wrap("A one-time password has been generated for you "+
			"and is shown in the OTP field. You need it to decode the new root token: keep it safe.", 0))
		rows = append(rows, []string{"OTP", st.OTP})
	}
	if st.OTPLength != 0 {
		rows = append(rows, []string{"OTP Length", fmt.Sprint(st.OTPLength)})
	}
	p.keyValues(rows)
	return exitOK
}

// decodeRootToken reverses the server's encoding: base64 (unpadded), then
// XOR with the one-time password.
func (c *command) decodeRootToken(encoded, otp string) int {
	if otp == "" {
		c.s.errorf("Missing -otp: the one-time password is needed to decode the token")
		return exitLocal
	}
	if encoded == "-" {
		b, err := io.ReadAll(io.LimitReader(c.s.stdin, 1<<16))
		if err != nil {
			c.s.errorf("Could not read the encoded token from stdin: %s", err)
			return exitLocal
		}
		encoded = string(b)
	}
	token, err := decodeToken(encoded, otp)
	if err != nil {
		c.s.errorf("Error decoding the token: %s", err)
		return exitLocal
	}
	p := c.printer()
	if p.format != "table" {
		return p.encode(map[string]string{"token": token})
	}
	fmt.Fprintln(c.s.stdout, token)
	return exitOK
}

func decodeToken(encoded, otp string) (string, error) {
	b, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(strings.TrimSpace(encoded), "="))
	if err != nil {
		return "", errors.New("the encoded token is not valid base64")
	}
	if len(b) != len(otp) {
		return "", fmt.Errorf("the one-time password has %d characters, the encoded token %d", len(otp), len(b))
	}
	for i := range b {
		b[i] ^= otp[i]
	}
	return string(b), nil
}
