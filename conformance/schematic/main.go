// Command schematic-oracle computes schematic IDs and canonical YAML with the
// Image Factory's own schematic package. One JSON request per line on stdin,
// one JSON response per line on stdout.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"

	"github.com/siderolabs/image-factory/pkg/schematic"
)

type request struct {
	ID   int    `json:"id"`
	Op   string `json:"op"`
	YAML string `json:"yaml"`
}

type response struct {
	ID        int    `json:"id"`
	OK        bool   `json:"ok"`
	Error     string `json:"error,omitempty"`
	Stage     string `json:"stage,omitempty"`
	SchemaID  string `json:"schematicId,omitempty"`
	Canonical string `json:"canonical,omitempty"`
}

// identify parses a schematic as the factory does when one is posted, then
// prints its canonical form and ID.
func identify(req request) response {
	cfg, err := schematic.Unmarshal([]byte(req.YAML))
	if err != nil {
		return response{Stage: "parse", Error: err.Error()}
	}

	canonical, err := cfg.Marshal()
	if err != nil {
		return response{Stage: "marshal", Error: err.Error()}
	}

	id, err := cfg.ID()
	if err != nil {
		return response{Stage: "id", Error: err.Error()}
	}

	return response{OK: true, SchemaID: id, Canonical: string(canonical)}
}

func handle(req request) (resp response) {
	defer func() {
		if r := recover(); r != nil {
			resp = response{Stage: "panic", Error: fmt.Sprint(r)}
		}

		resp.ID = req.ID
	}()

	switch req.Op {
	case "id":
		return identify(req)
	default:
		return response{Stage: "request", Error: fmt.Sprintf("unknown op %q", req.Op)}
	}
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)

	out := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(out)

	for in.Scan() {
		var req request
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			_ = enc.Encode(response{Stage: "request", Error: err.Error()})
		} else {
			_ = enc.Encode(handle(req))
		}

		_ = out.Flush()
	}
}
