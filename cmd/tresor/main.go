// Command tresor is the Tresor server, CLI and agent in one binary.
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/tresorhq/tresor/internal/cli"
	"github.com/tresorhq/tresor/internal/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	home, _ := os.UserHomeDir() // no home: no token file
	code := cli.Main(ctx, os.Args[1:], cli.Env{
		Stdin:   os.Stdin,
		Stdout:  os.Stdout,
		Stderr:  os.Stderr,
		Getenv:  os.Getenv,
		Environ: os.Environ,
		HomeDir: home,
		Server:  server.Main,
	})
	stop()
	os.Exit(code)
}
