// Command pulumi-tfgen-random writes the Pulumi package schema (schema.json) and the bridge
// metadata (bridge-metadata.json) of the bridged random provider:
//
//	PULUMI_CONVERT=0 pulumi-tfgen-random schema --skip-docs --skip-examples --out DIR
//
// The provider binary embeds both files, so scripts/build-engine.sh runs this first.
package main

import (
	pftfgen "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfgen"
	"github.com/terraform-providers/terraform-provider-random/pulumibridge"
)

func main() {
	pftfgen.Main("random", pulumibridge.Provider(nil))
}
