package ui

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/vault/api"
)

type initPage struct {
	Shares, Threshold int
	Error             string
	// Set once, right after initialisation.
	Keys      []string
	RootToken string
	KeysJSON  string
}

// initPage offers sys/init on an uninitialised server and shows the keys
// once.
func (c *rc) initPage() error {
	st, err := c.client.Sys().SealStatusWithContext(c.ctx)
	if err != nil {
		return err
	}
	if st.Initialized {
		c.redirect("/ui/unseal")
		return nil
	}
	p := initPage{Shares: 5, Threshold: 3}
	if c.r.Method != http.MethodPost {
		return c.ok("init", "Initialise", p)
	}
	p.Shares, _ = strconv.Atoi(c.form("shares"))
	p.Threshold, _ = strconv.Atoi(c.form("threshold"))
	if p.Shares < 1 || p.Threshold < 1 || p.Threshold > p.Shares || p.Shares > 255 {
		p.Error = "Key shares must be 1 to 255 and the threshold between 1 and the number of shares."
		c.render(http.StatusBadRequest, "init", "Initialise", p)
		return nil
	}
	resp, err := c.client.Sys().InitWithContext(c.ctx, &api.InitRequest{SecretShares: p.Shares, SecretThreshold: p.Threshold})
	if err != nil {
		if msgs, ok := badRequest(err); ok {
			p.Error = strings.Join(msgs, "; ")
			c.render(http.StatusBadRequest, "init", "Initialise", p)
			return nil
		}
		return err
	}
	p.Keys, p.RootToken = resp.KeysB64, resp.RootToken
	raw, _ := json.MarshalIndent(map[string]any{
		"unseal_keys_b64": resp.KeysB64, "unseal_shares": p.Shares, "unseal_threshold": p.Threshold, "root_token": resp.RootToken,
	}, "", "  ")
	p.KeysJSON = string(raw)
	return c.ok("init", "Initialised", p)
}

type unsealPage struct {
	Sealed      bool
	Progress, T int
	N           int
	Error       string
}

// unsealPage shows the unseal progress and takes key shares.
func (c *rc) unsealPage() error {
	sys := c.client.Sys()
	st, err := sys.SealStatusWithContext(c.ctx)
	if err != nil {
		return err
	}
	if !st.Initialized {
		c.redirect("/ui/init")
		return nil
	}
	p := unsealPage{}
	if c.r.Method == http.MethodPost {
		if c.form("reset") != "" {
			st, err = sys.ResetUnsealProcessWithContext(c.ctx)
		} else if key := c.form("key"); key != "" {
			st, err = sys.UnsealWithContext(c.ctx, key)
		}
		if err != nil {
			var re *api.ResponseError
			if !errors.As(err, &re) || re.StatusCode >= 500 {
				return err
			}
			p.Error = strings.Join(re.Errors, "; ")
			if st, err = sys.SealStatusWithContext(c.ctx); err != nil {
				return err
			}
		}
		if !st.Sealed {
			return c.done("/ui/", "Tresor is unsealed.")
		}
	}
	if !st.Sealed {
		c.redirect("/ui/")
		return nil
	}
	p.Sealed, p.Progress, p.T, p.N = st.Sealed, st.Progress, st.T, st.N
	code := http.StatusOK
	if p.Error != "" {
		code = http.StatusBadRequest
	}
	c.render(code, "unseal", "Unseal", p)
	return nil
}

type loginPage struct {
	Method, Mount, Username, RoleID string
	Error                           string
}

// loginPage signs in with a token, userpass or AppRole.
func (c *rc) loginPage() error {
	st, err := c.client.Sys().SealStatusWithContext(c.ctx)
	if err != nil {
		return err
	}
	if !st.Initialized || st.Sealed {
		c.toLogin()
		return nil
	}
	p := loginPage{Method: c.form("method")}
	if p.Method == "" {
		p.Method = "token"
	}
	if c.r.Method != http.MethodPost {
		return c.ok("login", "Sign in", p)
	}
	mount, okMount := cleanPath(c.form("mount"))
	p.Mount = strings.TrimSuffix(mount, "/")
	p.Username, p.RoleID = c.form("username"), c.form("role_id")
	if p.Mount == "" {
		p.Mount = p.Method
	}
	if _, okUser := cleanPath(p.Username); !okMount || !okUser || strings.Contains(p.Username, "/") {
		p.Error = "The mount path or user name is not valid."
		c.render(http.StatusBadRequest, "login", "Sign in", p)
		return nil
	}
	base, err := c.u.base()
	if err != nil {
		return err
	}
	cl, err := base.Clone()
	if err != nil {
		return err
	}
	cl.ClearToken()
	var token, name string
	// canLookup: the token may read auth/token/lookup-self, so the UI can
	// tell a revoked or expired token from a denied request later.
	var canLookup bool
	var sec *api.Secret
	switch p.Method {
	case "token":
		token = c.r.PostFormValue("token")
		if token == "" {
			p.Error = "Enter a token."
			break
		}
		cl.SetToken(token)
		sec, err = cl.Auth().Token().LookupSelfWithContext(c.ctx)
		if err == nil && sec != nil {
			name, _ = sec.Data["display_name"].(string)
			canLookup = true
		}
		sec = nil
	case "userpass":
		if p.Username == "" {
			p.Error = "Enter a user name and password."
			break
		}
		sec, err = cl.Logical().WriteWithContext(c.ctx, "auth/"+p.Mount+"/login/"+p.Username,
			map[string]any{"password": c.r.PostFormValue("password")})
	case "approle":
		sec, err = cl.Logical().WriteWithContext(c.ctx, "auth/"+p.Mount+"/login",
			map[string]any{"role_id": p.RoleID, "secret_id": c.r.PostFormValue("secret_id")})
	default:
		p.Error = "Choose a sign-in method."
	}
	if p.Error == "" && err == nil && sec != nil {
		if sec.Auth == nil || sec.Auth.ClientToken == "" {
			p.Error = "The server answered without a token."
		} else {
			token = sec.Auth.ClientToken
			canLookup = slices.Contains(sec.Auth.Policies, "default") || slices.Contains(sec.Auth.Policies, "root")
			name = p.Method + "-" + p.Username
			if p.Method == "approle" {
				name = "approle"
			}
		}
	}
	if err != nil {
		var re *api.ResponseError
		if !errors.As(err, &re) || re.StatusCode >= 500 {
			return err
		}
		p.Error = "Sign in failed: " + strings.Join(re.Errors, "; ")
	}
	if p.Error != "" {
		c.render(http.StatusBadRequest, "login", "Sign in", p)
		return nil
	}
	if name == "" {
		name = "token"
	}
	c.sess = c.u.sessions.signIn(c.w, c.r, c.sess, session{token: token, name: name, canLookup: canLookup})
	return c.done("/ui/secrets", "Signed in as "+name+".")
}

// logout forgets the session's token, revoking it first if asked.
func (c *rc) logout() error {
	if c.form("revoke") != "" && c.sess.token != "" {
		if err := c.client.Auth().Token().RevokeSelfWithContext(c.ctx, ""); err != nil {
			c.u.logger.Warn("ui: revoke on sign-out failed", "error", err)
		}
	}
	c.u.sessions.drop(c.sess.id)
	c.sess = c.u.sessions.create(c.w, c.r, session{flash: "Signed out."})
	c.redirect("/ui/login")
	return nil
}

// opsSeal seals the server after a confirmation.
func (c *rc) opsSeal() error {
	if c.r.Method == http.MethodPost {
		if c.form("confirm") != "seal" {
			c.render(http.StatusBadRequest, "ops-seal", "Seal", map[string]string{"Error": `Type "seal" to confirm.`})
			return nil
		}
		c.path, c.op = "sys/seal", "update"
		if err := c.client.Sys().SealWithContext(c.ctx); err != nil {
			return err
		}
		return c.done("/ui/unseal", "Tresor is sealed.")
	}
	return c.ok("ops-seal", "Seal", map[string]string{})
}
