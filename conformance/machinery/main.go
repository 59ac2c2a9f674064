// Command machinery-oracle answers questions about Talos machine configs with the
// code of one Talos release (the pkg/machinery version this binary was built
// against). It reads one JSON request per line on stdin and writes one JSON
// response per line on stdout, so a test can keep it running for thousands of cases.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"runtime/debug"
	"strings"

	"github.com/siderolabs/talos/pkg/machinery/config"
	"github.com/siderolabs/talos/pkg/machinery/config/configloader"
	"github.com/siderolabs/talos/pkg/machinery/config/configpatcher"
	"github.com/siderolabs/talos/pkg/machinery/config/encoder"
	"github.com/siderolabs/talos/pkg/machinery/config/generate"
	"github.com/siderolabs/talos/pkg/machinery/config/generate/secrets"
	"github.com/siderolabs/talos/pkg/machinery/config/machine"
	"github.com/siderolabs/talos/pkg/machinery/config/validation"
	"github.com/siderolabs/talos/pkg/machinery/constants"
)

type request struct {
	ID      int      `json:"id"`
	Op      string   `json:"op"`
	Config  string   `json:"config,omitempty"`
	Patches []string `json:"patches,omitempty"`
	Role    string   `json:"role,omitempty"`
	Strict  bool     `json:"strict,omitempty"`
	Mode    string   `json:"mode,omitempty"`
	// generate
	ClusterName       string `json:"clusterName,omitempty"`
	Endpoint          string `json:"endpoint,omitempty"`
	KubernetesVersion string `json:"kubernetesVersion,omitempty"`
	// Secrets is a secrets bundle file (talosctl gen secrets) to generate with,
	// loaded as talosctl gen config --with-secrets loads it.
	Secrets string `json:"secrets,omitempty"`
	// redact
	Replacement string `json:"replacement,omitempty"`
	// upgradeable (From -> To) and kubernetes (KubernetesVersion on To)
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
}

type response struct {
	ID       int      `json:"id"`
	OK       bool     `json:"ok"`
	Error    string   `json:"error,omitempty"`
	Stage    string   `json:"stage,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
	Config   string   `json:"config,omitempty"`
	Version  string   `json:"version,omitempty"`
	Kinds    any      `json:"kinds,omitempty"`
	// Talosconfig generated with the given secrets (generate with secrets only).
	Talosconfig string `json:"talosconfig,omitempty"`
}

// mode is a runtime mode as Talos defines them for validation.
type mode struct {
	name      string
	install   bool
	container bool
}

func (m mode) String() string        { return m.name }
func (m mode) RequiresInstall() bool { return m.install }
func (m mode) InContainer() bool     { return m.container }

func parseMode(name string) (mode, error) {
	switch name {
	case "", "metal":
		return mode{name: "metal", install: true}, nil
	case "cloud":
		return mode{name: "cloud"}, nil
	case "container":
		return mode{name: "container", container: true}, nil
	}

	return mode{}, fmt.Errorf("unknown mode %q", name)
}

func machineryVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}

	for _, dep := range info.Deps {
		if dep.Path == "github.com/siderolabs/talos/pkg/machinery" {
			return dep.Version
		}
	}

	return ""
}

// validate loads a config as a node does and validates it as talosctl validate does.
func validate(req request) response {
	cfg, err := configloader.NewFromBytes([]byte(req.Config))
	if err != nil {
		return response{Stage: "load", Error: err.Error()}
	}

	m, err := parseMode(req.Mode)
	if err != nil {
		return response{Stage: "request", Error: err.Error()}
	}

	opts := []validation.Option{validation.WithLocal()}
	if req.Strict {
		opts = append(opts, validation.WithStrict())
	}

	warnings, err := cfg.Validate(m, opts...)
	if err != nil {
		return response{Stage: "validate", Error: err.Error(), Warnings: warnings}
	}

	return response{OK: true, Warnings: warnings}
}

// patch applies patches (strategic merge or JSON6902, as talosctl loads them) to a config.
func patch(req request) response {
	patches := make([]configpatcher.Patch, 0, len(req.Patches))

	for i, p := range req.Patches {
		loaded, err := configpatcher.LoadPatch([]byte(p))
		if err != nil {
			return response{Stage: fmt.Sprintf("load patch %d", i+1), Error: err.Error()}
		}

		patches = append(patches, loaded)
	}

	out, err := configpatcher.Apply(configpatcher.WithBytes([]byte(req.Config)), patches)
	if err != nil {
		return response{Stage: "apply", Error: err.Error()}
	}

	b, err := out.Bytes()
	if err != nil {
		return response{Stage: "encode", Error: err.Error()}
	}

	return response{OK: true, Config: string(b)}
}

var bundle *secrets.Bundle

// generate produces a fresh config for a role, as talosctl gen config does.
func generateConfig(req request) response {
	var t machine.Type

	switch req.Role {
	case "controlplane":
		t = machine.TypeControlPlane
	case "worker":
		t = machine.TypeWorker
	case "init":
		t = machine.TypeInit
	default:
		return response{Stage: "request", Error: fmt.Sprintf("unknown role %q", req.Role)}
	}

	if bundle == nil {
		var err error

		bundle, err = secrets.NewBundle(secrets.NewClock(), config.TalosVersionCurrent)
		if err != nil {
			return response{Stage: "secrets", Error: err.Error()}
		}
	}

	use := bundle

	if req.Secrets != "" {
		loaded, err := loadBundle(req.Secrets)
		if err != nil {
			return response{Stage: "secrets", Error: err.Error()}
		}

		use = loaded
	}

	clusterName := or(req.ClusterName, "taloskit")
	endpoint := or(req.Endpoint, "https://10.5.0.2:6443")
	kube := or(req.KubernetesVersion, constants.DefaultKubernetesVersion)

	in, err := generate.NewInput(clusterName, endpoint, kube,
		generate.WithSecretsBundle(use),
		// talosctl gen config's default install disk
		generate.WithInstallDisk("/dev/sda"),
	)
	if err != nil {
		return response{Stage: "input", Error: err.Error()}
	}

	cfg, err := in.Config(t)
	if err != nil {
		return response{Stage: "generate", Error: err.Error()}
	}

	b, err := cfg.EncodeBytes(encoder.WithComments(encoder.CommentsDisabled))
	if err != nil {
		return response{Stage: "encode", Error: err.Error()}
	}

	resp := response{OK: true, Config: string(b)}

	if req.Secrets != "" {
		tc, err := in.Talosconfig()
		if err != nil {
			return response{Stage: "talosconfig", Error: err.Error()}
		}

		tb, err := tc.Bytes()
		if err != nil {
			return response{Stage: "talosconfig", Error: err.Error()}
		}

		resp.Talosconfig = string(tb)
	}

	return resp
}

// loadBundle reads a secrets bundle from a file, as talosctl --with-secrets does.
func loadBundle(text string) (*secrets.Bundle, error) {
	f, err := os.CreateTemp("", "secrets-*.yaml")
	if err != nil {
		return nil, err
	}

	defer os.Remove(f.Name()) //nolint:errcheck

	if _, err = f.WriteString(text); err != nil {
		f.Close() //nolint:errcheck

		return nil, err
	}

	if err = f.Close(); err != nil {
		return nil, err
	}

	return secrets.LoadBundle(f.Name())
}

func or(s, def string) string {
	if s == "" {
		return def
	}

	return s
}

func handle(req request) response {
	var resp response

	switch req.Op {
	case "version":
		resp = response{OK: true, Version: machineryVersion()}
	case "validate":
		resp = validate(req)
	case "patch":
		resp = patch(req)
	case "generate":
		resp = generateConfig(req)
	case "normalize":
		resp = normalize(req)
	case "kinds":
		resp = describeKinds()
	case "redact":
		resp = redact(req)
	case "upgradeable":
		resp = upgradeable(req)
	case "kubernetes":
		resp = kubernetesSupported(req)
	default:
		resp = response{Stage: "request", Error: fmt.Sprintf("unknown op %q", req.Op)}
	}

	resp.ID = req.ID

	return resp
}

func safeHandle(req request) (resp response) {
	defer func() {
		if r := recover(); r != nil {
			resp = response{ID: req.ID, Stage: "panic", Error: fmt.Sprint(r)}
		}
	}()

	return handle(req)
}

func main() {
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	out := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(out)

	for {
		line, err := in.ReadBytes('\n')
		if len(strings.TrimSpace(string(line))) > 0 {
			var req request

			if jerr := json.Unmarshal(line, &req); jerr != nil {
				_ = enc.Encode(response{Stage: "request", Error: jerr.Error()})
			} else {
				_ = enc.Encode(safeHandle(req))
			}

			_ = out.Flush()
		}

		if err != nil {
			return
		}
	}
}
