// Package version names this build of Tresor and the Vault API version it
// speaks. Clients (the vault CLI, Terraform) read the API version from
// sys/seal-status and sys/health to decide which features to use.
package version

// Set at build time with -ldflags "-X github.com/tresorhq/tresor/internal/version.Version=..."
var (
	Version   = "0.1.0-dev"
	BuildDate = "1970-01-01T00:00:00Z"
)

// VaultAPI is the Vault release whose HTTP API Tresor answers as.
const VaultAPI = "1.21.0"
