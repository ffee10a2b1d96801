package cli

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"
)

// defaultAddress is where the CLI looks for a server when neither -address
// nor TRESOR_ADDR/VAULT_ADDR says otherwise (vault's default).
const defaultAddress = "https://127.0.0.1:8200"

// outputs selects the output flags a command offers.
type outputs uint8

const (
	withFormat outputs = 1 << iota // -format
	withField                      // -field
	noHTTP                         // the command never talks to a server
)

// command is one tresor command. A command file fills in the descriptive
// fields and run; command supplies vault's shared flags (address, TLS,
// output format), the API client and the output printer.
type command struct {
	s        *session
	name     string // "operator unseal"
	synopsis string // one line for the command list
	usage    string // help text shown above the flags
	outputs  outputs
	// flags declares the command's own options; nil if it has none.
	flags func(*flagGroup)
	// run executes the command with its positional arguments; nil marks a
	// command that only groups subcommands.
	run func(c *command, args []string) int
	// hideFlags leaves the flags out of the help text, for a group whose
	// flags serve only a legacy form (auth).
	hideFlags bool
	// rawArgs passes the arguments after the flags on untouched, for
	// commands that run another program (run).
	rawArgs bool

	address    string
	caCert     string
	caPath     string
	clientCert string
	clientKey  string
	skipVerify bool
	namespace  string
	format     string
	field      string
	curl       bool
	// wrapTTL, when set, asks the server to wrap every response of the
	// command in a single-use token living this long (-wrap-ttl).
	wrapTTL        time.Duration
	wrapTTLEnvErr  error // VAULT_WRAP_TTL did not parse; reported by client
	policyOverride bool
	headers        map[string]string
}

// Synopsis is the one line shown in command lists.
func (c *command) Synopsis() string { return c.synopsis }

// Help is the usage text followed by every flag.
func (c *command) Help() string {
	text := strings.TrimSpace(c.usage)
	if flags := c.flagSet().help(); flags != "" && !c.hideFlags {
		text += "\n\n" + flags
	}
	return text
}

// Run parses the flags, then hand the positional
// arguments to c.run.
func (c *command) Run(args []string) int {
	if c.run == nil {
		return runResultHelp
	}
	set := c.flagSet()
	if err := set.fs.Parse(args); err != nil {
		c.s.errorf("%s", err)
		return exitLocal
	}
	rest, notFlags := trailingArgs(set.fs.Args())
	if c.rawArgs {
		rest, notFlags = set.fs.Args(), nil
	}
	if len(notFlags) > 0 && c.format == "table" {
		fmt.Fprintf(c.s.stderr, "Flags must come before positional arguments; "+
			"these were taken as arguments, not flags: [%s]\n", strings.Join(notFlags, ","))
	}
	c.format = strings.ToLower(c.format)
	if !validFormat(c.format) {
		c.s.errorf("Invalid output format: %s", c.format)
		return exitLocal
	}
	if c.format == "raw" && c.name != "read" {
		c.s.errorf("This command does not support the -format=raw option.")
		return exitLocal
	}
	return c.run(c, rest)
}

// flagSet declares the shared flags, with defaults from the environment,
// then the command's own.
func (c *command) flagSet() *flagSet {
	set := newFlagSet()
	if c.outputs&noHTTP == 0 {
		c.httpFlags(set.group("HTTP Options"))
	}
	if c.outputs&(withField|withFormat) != 0 {
		out := set.group("Output Options")
		if c.outputs&withField != 0 {
			out.stringVar(&c.field, "field", "", "string",
				"Print only the field with the given name. Specifying this option "+
					"takes precedence over other formatting directives. The result "+
					"has no trailing newline unless printed to a terminal, which makes "+
					"it ideal for piping to other processes.")
		}
		if c.outputs&withFormat != 0 {
			out.stringVar(&c.format, "format", c.s.global.format, "string",
				`Print the output in the given format: "table", "json" or "yaml". `+
					`This can also be set with VAULT_FORMAT or TRESOR_FORMAT.`)
		}
	}
	if c.format == "" {
		c.format = c.s.global.format
	}
	if c.flags != nil {
		c.flags(set.group("Command Options"))
	}
	return set
}

func (c *command) httpFlags(g *flagGroup) {
	addr := c.s.getenv("ADDR")
	if addr == "" {
		addr = defaultAddress
	}
	g.stringVar(&c.address, "address", addr, "string",
		"Address of the server. This can also be specified via the "+
			"TRESOR_ADDR or VAULT_ADDR environment variable.")
	g.stringVar(&c.caCert, "ca-cert", c.s.getenv("CACERT"), "string",
		"Path on the local disk to a single PEM-encoded CA certificate to "+
			"verify the server's TLS certificate. This takes precedence over "+
			"-ca-path. This can also be specified via VAULT_CACERT.")
	g.stringVar(&c.caPath, "ca-path", c.s.getenv("CAPATH"), "string",
		"Path on the local disk to a directory of PEM-encoded CA certificates "+
			"to verify the server's TLS certificate. This can also be specified "+
			"via VAULT_CAPATH.")
	g.stringVar(&c.clientCert, "client-cert", c.s.getenv("CLIENT_CERT"), "string",
		"Path on the local disk to a single PEM-encoded certificate presented "+
			"to the server for TLS client authentication (the cert auth method). "+
			"-client-key is required with it. This can also be specified via "+
			"VAULT_CLIENT_CERT.")
	g.stringVar(&c.clientKey, "client-key", c.s.getenv("CLIENT_KEY"), "string",
		"Path on the local disk to the PEM-encoded private key matching "+
			"-client-cert. This can also be specified via VAULT_CLIENT_KEY.")
	g.stringVar(&c.namespace, "namespace", c.s.getenv("NAMESPACE"), "string",
		"Accepted for compatibility with vault; Tresor has no namespaces and "+
			"ignores it.")
	g.hidden(&c.namespace, "ns", c.s.getenv("NAMESPACE"))
	skip, _ := strconv.ParseBool(c.s.getenv("SKIP_VERIFY"))
	g.boolVar(&c.skipVerify, "tls-skip-verify", skip,
		"Disable verification of TLS certificates. This is highly discouraged: "+
			"it leaves the connection open to interception. This can also be "+
			"specified via VAULT_SKIP_VERIFY.")
	wrapDefault, err := parseDuration(c.s.getenv("WRAP_TTL"))
	if err != nil {
		c.wrapTTLEnvErr = fmt.Errorf("could not parse VAULT_WRAP_TTL: %w", err)
	}
	g.durationVar(&c.wrapTTL, "wrap-ttl", wrapDefault,
		"Wrap the response in a cubbyhole token valid for this long (\"5m\" or "+
			"seconds). Only the wrapping token is printed; \""+binaryName+" unwrap\" "+
			"opens it once. This can also be specified via VAULT_WRAP_TTL.")
	g.boolVar(&c.policyOverride, "policy-override", false,
		"Override a soft-mandatory Sentinel policy. Tresor has no Sentinel "+
			"policies; the flag is sent for compatibility.")
	g.mapVar(&c.headers, "header", "key=value",
		"Extra HTTP header sent with every request; repeat for more. Headers "+
			"starting with X-Vault- are refused.")
	g.boolVar(&c.curl, "output-curl-string", c.s.global.curl,
		"Instead of executing the request, print an equivalent cURL command "+
			"string and exit.")
}

// client builds an API client from the flags and environment. The token
// comes from TRESOR_TOKEN/VAULT_TOKEN, else from the token file.
func (c *command) client() (*api.Client, error) {
	if v := c.s.getenv("SKIP_VERIFY"); v != "" {
		if _, err := strconv.ParseBool(v); err != nil {
			return nil, fmt.Errorf("could not parse VAULT_SKIP_VERIFY %q: %w", v, err)
		}
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	cfg := &api.Config{
		Address: strings.TrimSpace(c.address),
		HttpClient: &http.Client{
			Transport: transport,
			// The api client handles redirects itself.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		Timeout: 60 * time.Second,
	}
	if err := cfg.ConfigureTLS(&api.TLSConfig{
		CACert:     c.caCert,
		CAPath:     c.caPath,
		ClientCert: c.clientCert,
		ClientKey:  c.clientKey,
		Insecure:   c.skipVerify,
	}); err != nil {
		return nil, fmt.Errorf("failed to set up TLS: %w", err)
	}
	client, err := api.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("failed to create client: %w", err)
	}
	// A CLI reports failures at once rather than retrying behind the user's back.
	client.SetMaxRetries(0)
	// NewClient reads some settings from the process environment; ours come
	// from Env only.
	client.ClearNamespace()
	client.ClearToken()
	token := c.s.getenv("TOKEN")
	if token == "" {
		if token, err = c.tokenFile().get(); err != nil {
			return nil, fmt.Errorf("failed to read token: %w", err)
		}
	}
	if token != "" {
		client.SetToken(token)
	}
	client.SetOutputCurlString(c.curl)
	if err := c.applyRequestOptions(client); err != nil {
		return nil, err
	}
	return client, nil
}

// clientOrFail is client for command bodies: it reports a failure itself.
func (c *command) clientOrFail() (*api.Client, int) {
	client, err := c.client()
	if err != nil {
		c.s.errorf("%s", err)
		return nil, exitRemote
	}
	return client, exitOK
}

// argsAndClient is wantArgs then clientOrFail, the opening of most
// commands: a nil client comes with the exit code to return.
func (c *command) argsAndClient(args []string, min, max int) (*api.Client, int) {
	if !c.wantArgs(args, min, max) {
		return nil, exitLocal
	}
	return c.clientOrFail()
}

// apiFailed reports a failed API call as "<what>: <error>" and returns exit
// code 2. Under -output-curl-string the "failure" is the request the client
// declined to send: print it as a curl command and succeed.
func (c *command) apiFailed(err error, what string, args ...any) int {
	var curl *api.OutputStringError
	if errors.As(err, &curl) {
		s, cerr := curl.CurlString()
		if cerr != nil {
			c.s.errorf("Error creating request string: %s", cerr)
			return exitLocal
		}
		fmt.Fprintln(c.s.stdout, s)
		return exitOK
	}
	c.s.errorf("%s: %s", fmt.Sprintf(what, args...), err)
	return exitRemote
}

// usageError reports wrong positional arguments.
func (c *command) usageError(format string, args ...any) int {
	c.s.errorf(format, args...)
	return exitLocal
}

// wantArgs checks the number of positional arguments is within [min, max]
// (max < 0: unbounded), reporting the mismatch in vault's words.
func (c *command) wantArgs(args []string, min, max int) bool {
	switch {
	case len(args) < min:
		c.s.errorf("Not enough arguments (expected %d, got %d)", min, len(args))
		return false
	case max >= 0 && len(args) > max:
		c.s.errorf("Too many arguments (expected %d, got %d)", max, len(args))
		return false
	}
	return true
}

// printer returns the output printer for this command's format and field.
func (c *command) printer() *printer {
	return &printer{
		out:    c.s.stdout,
		errOut: c.s.stderr,
		format: c.format,
		field:  c.field,
		tty:    isTerminal(c.s.stdout),
	}
}

// sanitizePath trims whitespace and surrounding slashes from an API path.
func sanitizePath(p string) string {
	return strings.Trim(strings.TrimSpace(p), "/")
}
