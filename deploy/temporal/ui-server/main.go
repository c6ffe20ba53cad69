// The Temporal UI server (github.com/temporalio/ui-server/v2, the version the Temporal CLI embeds),
// built inside the CLI's module graph so that it needs nothing beyond the Go module cache.
// Usage: server <config dir> <env>  (scripts/cluster.ts runs `server deploy/temporal/ui cluster`).
// Build (offline, from the module cache the CLI build filled): README "Temporal Server on PostgreSQL".
package main

import (
	"log"
	"os"

	"github.com/temporalio/ui-server/v2/plugins/fs_config_provider"
	"github.com/temporalio/ui-server/v2/server"
	"github.com/temporalio/ui-server/v2/server/api"
	"github.com/temporalio/ui-server/v2/server/headers"
	"github.com/temporalio/ui-server/v2/server/server_options"
)

func main() {
	if len(os.Args) != 3 {
		log.Fatal("usage: server <config dir> <env>")
	}
	provider := fs_config_provider.NewFSConfigProvider(os.Args[1], os.Args[2])
	cfg, err := provider.GetConfig()
	if err != nil {
		log.Fatal(err)
	}
	s := server.NewServer(
		server_options.WithConfigProvider(provider),
		server_options.WithAPIMiddleware([]api.Middleware{headers.WithForwardHeaders(cfg.ForwardHeaders)}),
	)
	defer s.Stop()
	if err := s.Start(); err != nil {
		log.Fatal(err)
	}
}
