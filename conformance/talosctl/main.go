// talosctl's node-facing commands, built from Talos's own command package at the
// release pinned in go.mod, so the conformance run drives the simulator with the
// real client code.
//
// The root is ours: upstream's root also registers the offline and local-cluster
// commands (gen, cluster create, ...), whose package needs an rtnetlink API that
// no rtnetlink release served by the module proxy has (see go.mod). Every command
// that talks to a node (get, logs, etcd, upgrade, ...) is upstream's, unchanged.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	_ "github.com/siderolabs/talos/cmd/talosctl/acompat"
	"github.com/siderolabs/talos/cmd/talosctl/cmd/common"
	"github.com/siderolabs/talos/cmd/talosctl/cmd/talos"
	"github.com/siderolabs/talos/pkg/cli"
)

func main() {
	root := &cobra.Command{
		Use:           "talosctl",
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.AddCommand(talos.Commands...)

	_, err := cli.WithContextC(context.Background(), root.ExecuteContextC)
	if err != nil {
		if !common.SuppressErrors {
			fmt.Fprintln(os.Stderr, err)
		}
		os.Exit(1)
	}
}
