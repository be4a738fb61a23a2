// Command terraform-provider-kplane serves the kplane provider (address kplane/kplane) to
// OpenTofu or Terraform over the plugin protocol v6.
package main

import (
	"flag"
	"log"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6/tf6server"

	"github.com/kplane/terraform-provider-kplane/internal/provider"
)

// version is set by the build (-ldflags "-X main.version=...").
var version = "dev"

func main() {
	debug := flag.Bool("debug", false, "run with support for debuggers (prints TF_REATTACH_PROVIDERS)")
	flag.Parse()
	var opts []tf6server.ServeOpt
	if *debug {
		opts = append(opts, tf6server.WithManagedDebug())
	}
	// tf6server rather than providerserver.Serve: the latter insists on a host in the address
	// (hostname/namespace/type), and the address is only the key of TF_REATTACH_PROVIDERS, which
	// tofu parses as a source string (the short form gets its default host).
	if err := tf6server.Serve(provider.Address, providerserver.NewProtocol6(provider.New(version)()), opts...); err != nil {
		log.Fatal(err)
	}
}
