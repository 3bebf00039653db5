// Command pulumi-resource-random is the Pulumi resource plugin for the `random` package,
// installed as resource-random-v<version> in the plugin cache where the engine looks.
//
// schema.json and bridge-metadata.json are not in the repository: scripts/build-engine.sh
// generates them with pulumi-tfgen-random into this directory of its build copy.
package main

import (
	"context"
	_ "embed"

	pftfbridge "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"github.com/terraform-providers/terraform-provider-random/pulumibridge"
)

//go:embed schema.json
var schema []byte

//go:embed bridge-metadata.json
var metadata []byte

func main() {
	pftfbridge.Main(context.Background(), "random", pulumibridge.Provider(metadata),
		pftfbridge.ProviderMetadata{PackageSchema: schema})
}
