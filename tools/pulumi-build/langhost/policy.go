package main

// Policy packs (CrossGuard): since pulumi 3.221 the engine starts a Python policy pack by calling
// the language host's RunPlugin with kind "analyzer", the pack's directory as the program and the
// engine address as the only argument. Like upstream's host, this one runs the pack as
// `python -u -m pulumi.policy <engine> <packdir>` with the pack's own virtualenv, behind sdk/v3's
// PolicyProxy: the proxy answers the engine's Handshake and ConfigureStack itself (the stack's
// project, name and config only arrive there) and, once the pack has started with that
// configuration in its environment, forwards every other Analyzer call to it.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"

	sdk "github.com/pulumi/pulumi/sdk/v3"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// analyzerKind is the plugin kind the engine asks for when it runs a policy pack.
const analyzerKind = "analyzer"

// streamWriter sends what a plugin writes to stdout or stderr to the engine as RunPlugin
// responses; stdout and stderr share one stream, hence the lock.
type streamWriter struct {
	mu     *sync.Mutex
	stream pulumirpc.LanguageRuntime_RunPluginServer
	stderr bool
}

func (w streamWriter) Write(p []byte) (int, error) {
	// The stream keeps a reference to the message until it is sent: copy the caller's buffer.
	data := append([]byte(nil), p...)
	resp := &pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stdout{Stdout: data}}
	if w.stderr {
		resp = &pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stderr{Stderr: data}}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.stream.Send(resp); err != nil {
		return 0, err
	}
	return len(p), nil
}

// policyPackEnv is what pulumi.policy reads to configure the Pulumi runtime for the stack being
// previewed (PULUMI_PROJECT/STACK/DRY_RUN together, PULUMI_CONFIG as JSON).
func policyPackEnv(cfg *pulumirpc.AnalyzerStackConfigureRequest) ([]string, error) {
	if cfg == nil { // e.g. `pulumi policy publish`: no stack, no configuration
		return nil, nil
	}
	env := []string{
		"PULUMI_PROJECT=" + cfg.GetProject(),
		"PULUMI_STACK=" + cfg.GetStack(),
		"PULUMI_DRY_RUN=" + strconv.FormatBool(cfg.GetDryRun()),
	}
	if org := cfg.GetOrganization(); org != "" {
		env = append(env, "PULUMI_ORGANIZATION="+org)
	}
	config := cfg.GetConfig()
	if config == nil {
		config = map[string]string{}
	}
	configJSON, err := json.Marshal(config)
	if err != nil {
		return nil, err
	}
	keys := cfg.GetConfigSecretKeys()
	if keys == nil {
		keys = []string{}
	}
	keysJSON, err := json.Marshal(keys)
	if err != nil {
		return nil, err
	}
	return append(env, "PULUMI_CONFIG="+string(configJSON), "PULUMI_CONFIG_SECRET_KEYS="+string(keysJSON)), nil
}

// policyPackArgs is the python command line for a pack: the engine address (the request's
// arguments) comes first, the pack directory last.
func policyPackArgs(req *pulumirpc.RunPluginRequest) []string {
	args := append([]string{"-u", "-m", "pulumi.policy"}, req.GetArgs()...)
	return append(args, req.GetInfo().GetProgramDirectory())
}

func (h *host) RunPlugin(req *pulumirpc.RunPluginRequest, stream pulumirpc.LanguageRuntime_RunPluginServer) error {
	if req.GetKind() != analyzerKind {
		return status.Errorf(codes.Unimplemented, "kexpose's Python language host runs policy packs (kind %q) only, not %q plugins",
			analyzerKind, req.GetKind())
	}
	ctx := stream.Context()
	mu := &sync.Mutex{}
	stdout, stderr := streamWriter{mu: mu, stream: stream}, streamWriter{mu: mu, stream: stream, stderr: true}

	// The proxy prints its own port on stdout: that is the analyzer the engine talks to.
	proxy, packStdout, err := sdk.NewPolicyProxy(ctx, stdout)
	if err != nil {
		return fmt.Errorf("could not start the policy pack proxy: %w", err)
	}
	cfg, err := proxy.AwaitConfiguration(ctx)
	if err != nil {
		return fmt.Errorf("no stack configuration from the engine: %w", err)
	}
	packEnv, err := policyPackEnv(cfg)
	if err != nil {
		return err
	}

	tc, err := resolveToolchain(req.GetInfo())
	if err != nil {
		return err
	}
	if err := tc.ValidateVenv(ctx); err != nil {
		return fmt.Errorf("policy pack %s: %w (run make setup)", req.GetInfo().GetProgramDirectory(), err)
	}
	cmd, err := tc.Command(ctx, policyPackArgs(req)...)
	if err != nil {
		return err
	}
	cmd.Dir = req.GetInfo().GetProgramDirectory()
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(append(cmd.Env, req.GetEnv()...), packEnv...)
	cmd.Stdout, cmd.Stderr = packStdout, stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("could not start the policy pack: %w", err)
	}
	// Attach reads the pack's port from its stdout, hands it the stack configuration and returns
	// when the pack exits.
	code := int32(0)
	if err := proxy.Attach(ctx, cmd); err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			_, _ = io.WriteString(stderr, fmt.Sprintf("policy pack: %v\n", err))
			return err
		}
		code = int32(exitErr.ExitCode())
	}
	mu.Lock()
	defer mu.Unlock()
	return stream.Send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: code}})
}
