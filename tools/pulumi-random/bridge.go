// Package pulumibridge bridges Terraform's random provider to Pulumi as the `random` package
// that the Python SDK pulumi-random uses.
//
// Why it is here: pulumi-random's own provider module is refused by the Go module proxy these
// machines reach, while everything it is made of is served: the Terraform provider (as
// github.com/terraform-providers/terraform-provider-random) and the Pulumi Terraform bridge.
// This module's path sits under the Terraform provider's path so that Go's internal-package
// rule (which is by import path) lets it import the provider's internal/provider package.
package pulumibridge

import (
	"unicode"

	pftfbridge "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/terraform-providers/terraform-provider-random/internal/provider"
)

// Version is the Pulumi package version, set by the build (-X ...pulumibridge.Version=4.21.1)
// to the version the Python SDK pins: the engine loads exactly that plugin version.
var Version = "0.0.0"

// pulumiNames maps each Terraform resource to the type name the Python SDK registers; every
// one lives in the package's `index` module (tokens like random:index/randomPassword:RandomPassword).
var pulumiNames = map[string]string{
	"random_bytes":    "RandomBytes",
	"random_id":       "RandomId",
	"random_integer":  "RandomInteger",
	"random_password": "RandomPassword",
	"random_pet":      "RandomPet",
	"random_shuffle":  "RandomShuffle",
	"random_string":   "RandomString",
	"random_uuid":     "RandomUuid",
	"random_uuid4":    "RandomUuid4",
	"random_uuid7":    "RandomUuid7",
}

// token is the standard Pulumi type token of a resource in the index module.
func token(name string) string {
	lower := []rune(name)
	lower[0] = unicode.ToLower(lower[0])
	return "random:index/" + string(lower) + ":" + name
}

// Provider describes the bridged provider. metadata is the bridge-metadata.json that tfgen
// wrote next to schema.json (nil while tfgen itself runs).
func Provider(metadata []byte) tfbridge.ProviderInfo {
	resources := make(map[string]*tfbridge.ResourceInfo, len(pulumiNames))
	for tf, name := range pulumiNames {
		resources[tf] = &tfbridge.ResourceInfo{Tok: tokens.Type(token(name))}
	}
	return tfbridge.ProviderInfo{
		P:            pftfbridge.ShimProvider(provider.New()),
		Name:         "random",
		Version:      Version,
		GitHubOrg:    "hashicorp",
		Description:  "A Pulumi package to safely use randomness in Pulumi programs.",
		License:      "Apache-2.0",
		Resources:    resources,
		MetadataInfo: tfbridge.NewProviderMetadata(metadata),
	}
}
