// Package cli is the tresor command line. It accepts the vault CLI's syntax,
// flags, environment and output formats, so that
//
//	alias vault=tresor
//
// keeps existing scripts working.
//
// Every command except server is an ordinary HTTP client of a Tresor (or
// Vault) server, speaking through github.com/hashicorp/vault/api:
//
//	tresor operator init -key-shares=5 -key-threshold=3
//	tresor operator unseal            # prompts without echo
//	tresor login s.XXXX               # stores the token in ~/.vault-token
//	tresor write secret/app password=@pw.txt user=-
//	tresor read -field=password secret/app
//	tresor list -format=json secret/
//	tresor status                     # exit 2 when sealed
//
// Command groups work as in vault: kv (version-aware KV: put, get
// -version, patch, rollback, delete/undelete/destroy -versions, metadata),
// secrets, auth, audit, policy and token:
//
//	tresor kv put secret/app api_key=abc      # → secret/data/app on KV v2
//	tresor kv get -field=api_key secret/app
//	tresor secrets enable -path=kv1 -version=1 kv
//	tresor policy write web - < web.hcl
//	tresor token create -policy=web -ttl=1h
//	tresor login -method=userpass username=alice
//
// Leases of dynamic secrets are looked up, renewed and revoked with lease;
// any command takes -wrap-ttl to get its answer as a single-use wrapping
// token, which unwrap opens:
//
//	tresor lease revoke -prefix database/creds/readonly
//	tresor write -wrap-ttl=60s -f auth/approle/role/web/secret-id
//	tresor unwrap s.WRAPPING_TOKEN
//
// Vault 0.x verbs from old tutorials (mounts, mount, token-create,
// policies, auth TOKEN, ...) still work; they print the modern command on
// stderr first.
//
// Flags come before positional arguments, as with vault; -format is global
// and may appear anywhere. The server is found through -address,
// TRESOR_ADDR or VAULT_ADDR (TRESOR_ wins), defaulting to
// https://127.0.0.1:8200; the token comes from TRESOR_TOKEN, VAULT_TOKEN or
// the token file written by "tresor login".
//
// Exit codes follow vault: 0 success, 1 local error (bad usage, unreadable
// file), 2 error from the server or the network, 127 unknown command.
//
// A new command group is one file: a constructor returning *command (see
// base.go) and an entry in commandTable.
package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
)

// Env is everything Main takes from the process, so tests can run the CLI
// in-process with buffers and a fake environment.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Getenv looks up an environment variable; nil means an empty environment.
	Getenv func(string) string
	// Environ lists the whole environment as KEY=VALUE, for commands that
	// start a program with it (run, agent); nil means an empty environment.
	Environ func() []string
	// HomeDir holds the token file (.vault-token); empty disables it.
	HomeDir string
	// Server runs "tresor server"; nil when the binary has no server built in.
	Server func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

// Exit codes, as vault uses them.
const (
	exitOK      = 0
	exitLocal   = 1   // bad flags or arguments, unreadable local file
	exitRemote  = 2   // API error or unreachable server; also "sealed" for status
	exitUnknown = 127 // no such command (set by the dispatcher)
)

// binaryName is how usage text refers to the program.
const binaryName = "tresor"

// Main runs the command line args (without the program name) and returns the
// process exit code.
func Main(ctx context.Context, args []string, env Env) int {
	s := newSession(ctx, env)

	args, glob := scanGlobalFlags(args, s.getenv)
	if !validFormat(glob.format) {
		s.errorf("Invalid output format: %s", glob.format)
		return exitLocal
	}
	s.global = glob

	// The server parses its own flags and help, so it bypasses the dispatcher.
	if len(args) > 0 && args[0] == "server" {
		return runServer(s, args[1:])
	}
	if len(args) > 0 && args[0] == "bench" {
		return runBench(s, args[1:])
	}

	hidden := map[string]bool{"version": true} // reachable, not advertised
	for _, name := range legacyNames() {
		hidden[name] = true // vault 0.x's verbs
	}
	d := &dispatcher{commands: commandTable(s), hidden: hidden, rootHelp: rootHelp, s: s}
	return d.run(args)
}

// commandTable lists every command. Keys with a space are subcommands.
func commandTable(s *session) map[string]func() *command {
	cmds := []func(*session) *command{
		newBenchCommand,
		newStatusCommand,
		newOperatorCommand,
		newOperatorInitCommand,
		newOperatorUnsealCommand,
		newOperatorSealCommand,
		newOperatorRotateCommand,
		newOperatorKeyStatusCommand,
		newOperatorRekeyCommand,
		newOperatorGenerateRootCommand,
		newOperatorBackupCommand,
		newOperatorRestoreCommand,
		newOperatorRaftCommand,
		newOperatorRaftJoinCommand,
		newOperatorRaftListPeersCommand,
		newOperatorRaftRemovePeerCommand,
		newOperatorRaftSnapshotCommand,
		newOperatorRaftSnapshotSaveCommand,
		newOperatorRaftSnapshotRestoreCommand,
		newOperatorRaftAutopilotCommand,
		newOperatorRaftAutopilotStateCommand,
		newOperatorRaftAutopilotGetConfigCommand,
		newOperatorRaftAutopilotSetConfigCommand,
		newReadCommand,
		newWriteCommand,
		newDeleteCommand,
		newListCommand,
		newLoginCommand,
		newVersionCommand,
		newServerCommand,
		newKVCommand,
		newKVGetCommand,
		newKVPutCommand,
		newKVPatchCommand,
		newKVListCommand,
		newKVDeleteCommand,
		newKVUndeleteCommand,
		newKVDestroyCommand,
		newKVRollbackCommand,
		newKVEnableVersioningCommand,
		newKVMetadataCommand,
		newKVMetadataGetCommand,
		newKVMetadataPutCommand,
		newKVMetadataPatchCommand,
		newKVMetadataDeleteCommand,
		newKVMoveCommand,
		newLeaseCommand,
		newLeaseRenewCommand,
		newLeaseRevokeCommand,
		newLeaseLookupCommand,
		newLeaseListCommand,
		newUnwrapCommand,
		newSecretsCommand,
		newSecretsEnableCommand,
		newSecretsDisableCommand,
		newSecretsListCommand,
		newSecretsTuneCommand,
		newSecretsMoveCommand,
		newPolicyCommand,
		newPolicyWriteCommand,
		newPolicyReadCommand,
		newPolicyListCommand,
		newPolicyDeleteCommand,
		newPolicyFmtCommand,
		newPolicyExplainCommand,
		newTokenCommand,
		newTokenCreateCommand,
		newTokenLookupCommand,
		newTokenRenewCommand,
		newTokenRevokeCommand,
		newTokenCapabilitiesCommand,
		newAuthCommand,
		newAuthEnableCommand,
		newAuthDisableCommand,
		newAuthListCommand,
		newAuthTuneCommand,
		newAuditCommand,
		newAuditEnableCommand,
		newAuditListCommand,
		newAuditDisableCommand,
		newRunCommand,
		newInjectCommand,
		newAgentCommand,
	}
	for _, v := range legacyVerbs {
		cmds = append(cmds, legacyConstructor(v))
	}
	table := make(map[string]func() *command, len(cmds))
	for _, newCmd := range cmds {
		name := newCmd(s).name
		table[name] = func() *command { return newCmd(s) }
	}
	return table
}

// commonCommands head the root help, in this order, as in vault.
var commonCommands = []string{"read", "write", "delete", "list", "login", "server", "status"}

// rootHelp renders "tresor -h": the common commands first, then the rest,
// aligned as one table.
func rootHelp(cmds map[string]func() *command) string {
	common := make(map[string]bool, len(commonCommands))
	var rows [][]string
	for _, name := range commonCommands {
		if f, ok := cmds[name]; ok {
			common[name] = true
			rows = append(rows, []string{name, f().Synopsis()})
		}
	}
	nCommon := len(rows)
	for _, name := range sortedKeys(cmds) {
		if !common[name] {
			rows = append(rows, []string{name, cmds[name]().Synopsis()})
		}
	}
	lines := strings.Split(columns(rows, "      "), "\n")

	var b strings.Builder
	fmt.Fprintf(&b, "Usage: %s <command> [args]\n\nCommon commands:\n", binaryName)
	for i, line := range lines {
		if i == nCommon {
			b.WriteString("\nOther commands:\n")
		}
		fmt.Fprintf(&b, "    %s\n", line)
	}
	return strings.TrimRight(b.String(), "\n")
}

// session is the state one Main call shares between its commands: the
// process environment, the global flags, and stdin, which may be read once.
type session struct {
	ctx            context.Context
	env            Env
	stdin          *bufio.Reader
	stdinUsed      bool
	stdout, stderr io.Writer
	global         globalFlags
}

func newSession(ctx context.Context, env Env) *session {
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	if env.Stdin == nil {
		env.Stdin = strings.NewReader("")
	}
	if env.Stdout == nil {
		env.Stdout = io.Discard
	}
	if env.Stderr == nil {
		env.Stderr = io.Discard
	}
	return &session{
		ctx:    ctx,
		env:    env,
		stdin:  bufio.NewReader(env.Stdin),
		stdout: env.Stdout,
		stderr: env.Stderr,
	}
}

// getenv looks up a setting by its suffix ("ADDR"): TRESOR_ADDR if set,
// else VAULT_ADDR.
func (s *session) getenv(suffix string) string {
	if v := s.env.Getenv("TRESOR_" + suffix); v != "" {
		return v
	}
	return s.env.Getenv("VAULT_" + suffix)
}

// errorf prints one error line on stderr.
func (s *session) errorf(format string, args ...any) {
	fmt.Fprintf(s.stderr, format+"\n", args...)
}
